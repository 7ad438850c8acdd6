// Loaded with `node --import` by extensions' JavaScript MCP servers outside the project: its resolution
// rules without TypeScript (see resolve-fallback.mjs).
import { registerResolveFallback } from './module-hooks.mjs';

registerResolveFallback();
