// The module hooks code from outside the built package may need, each registered at most once per
// process whoever asks first: the preloads (register-hooks.mjs, register-resolve-fallback.mjs) and the
// daemon and CLI when they import an extension (core/extension-host/module-import.ts).
import { register } from 'node:module';

const registered = { typeScript: false, resolveFallback: false };

/** TypeScript through tsx. */
export async function registerTypeScript() {
  if (registered.typeScript) return;
  registered.typeScript = true;
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  // The hook registered last runs first, and the fallback must have the last word over tsx (it makes
  // TypeScript files outside node_modules ES modules): when it came first, it goes in front again.
  if (registered.resolveFallback) register('./resolve-fallback.mjs', import.meta.url);
}

/** The project's resolution rules for extensions outside it (see resolve-fallback.mjs). */
export function registerResolveFallback() {
  if (registered.resolveFallback) return;
  registered.resolveFallback = true;
  register('./resolve-fallback.mjs', import.meta.url);
}
