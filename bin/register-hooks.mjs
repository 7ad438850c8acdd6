// Loaded with `node --import` by the daemon and by extensions' MCP servers: TypeScript through tsx,
// and the project's resolution rules for extensions (see resolve-fallback.mjs).
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./resolve-fallback.mjs', import.meta.url);
