// Loaded with `node --import` by the unit tests, the benchmarks and extensions' TypeScript MCP servers:
// TypeScript through tsx, and the project's resolution rules for extensions (see resolve-fallback.mjs).
import { registerResolveFallback, registerTypeScript } from './module-hooks.mjs';

await registerTypeScript();
registerResolveFallback();
