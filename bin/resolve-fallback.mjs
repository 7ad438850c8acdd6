// Module resolution hooks for extensions that live outside the project (e.g. <state_dir>/extensions):
// - a bare import (`zod`, `claude-ext/mcp`) they cannot find is resolved from the project, so they use
//   the daemon's own dependencies without a node_modules of their own;
// - their TypeScript files are ES modules even without a package.json saying so.
const projectRoot = new URL('../package.json', import.meta.url).href;

function isBare(specifier) {
  return !/^(\.{1,2}\/|\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);
}

function isOwnTypeScript(url) {
  return url.startsWith('file:') && !url.includes('/node_modules/') && /\.ts(\?|%3F|$)/i.test(url);
}

/** tsx marks files it means to load as CommonJS with a query of its own; an ES module needs none. */
function withoutCommonJsMark(url) {
  return url.replace(/(\?|%3F)tsx-.*$/i, '');
}

export async function resolve(specifier, context, nextResolve) {
  let resolved;
  try {
    resolved = await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !isBare(specifier) || context.parentURL === projectRoot) throw error;
    resolved = await nextResolve(specifier, { ...context, parentURL: projectRoot });
  }
  if (isOwnTypeScript(resolved.url) && resolved.format !== 'module') return { ...resolved, url: withoutCommonJsMark(resolved.url), format: 'module' };
  return resolved;
}
