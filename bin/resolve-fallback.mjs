// Module resolution hooks for extensions that live outside the project (e.g. <state_dir>/extensions):
// - a bare import (`zod`, `claude-ext/mcp`) they cannot find is resolved from the project, so they use
//   the daemon's own dependencies without a node_modules of their own;
// - their TypeScript files are ES modules even without a package.json saying so, and so are their
//   JavaScript files written as ES modules (as Node itself decides, but also when tsx is registered,
//   which would turn them into CommonJS, whose bare imports no hook sees);
// - a file an extension imports from its own directory is loaded in the same version as the extension
//   (`?extv=`), so a reload after any change in that directory runs the new code.
import fs from 'node:fs';
import vm from 'node:vm';

const projectRoot = new URL('../package.json', import.meta.url).href;

function isBare(specifier) {
  return !/^(\.{1,2}\/|\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);
}

function isOwnTypeScript(url) {
  return url.startsWith('file:') && !url.includes('/node_modules/') && /\.ts(\?|%3F|$)/i.test(url);
}

function isOwnCommonJs(resolved) {
  return resolved.format === 'commonjs' && resolved.url.startsWith('file:') && !resolved.url.includes('/node_modules/') && /\.js(\?|%3F|$)/i.test(resolved.url);
}

/** Node's test for a file no package.json calls a module: does it fail to compile as CommonJS for module syntax? */
function hasModuleSyntax(url) {
  try {
    vm.compileFunction(fs.readFileSync(new URL(url), 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname']);
    return false;
  } catch (error) {
    return /Cannot use import statement|Unexpected token 'export'|Cannot use 'import\.meta'|await is only valid/.test(error?.message ?? '');
  }
}

/** tsx marks files it means to load as CommonJS with a query of its own; an ES module needs none. */
function withoutCommonJsMark(url) {
  return url.replace(/(\?|%3F)tsx-.*$/i, '');
}

const EXTENSION_VERSION = /[?&]extv=([^&#]+)/;

/** `extv=<version>.<directory>`: imports inside that directory carry the same version. */
function extensionVersionOf(url) {
  const value = url ? EXTENSION_VERSION.exec(url)?.[1] : undefined;
  if (!value) return undefined;
  const dot = value.indexOf('.');
  return dot < 0 ? undefined : { value, root: decodeURIComponent(value.slice(dot + 1)) };
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await resolveModule(specifier, context, nextResolve);
  const version = extensionVersionOf(context.parentURL);
  if (version && /^\.{1,2}\//.test(specifier) && resolved.url.startsWith(`${version.root}/`) && !EXTENSION_VERSION.test(resolved.url)) {
    const url = withoutCommonJsMark(resolved.url);
    return { ...resolved, url: `${url}${url.includes('?') ? '&' : '?'}extv=${version.value}` };
  }
  return resolved;
}

async function resolveModule(specifier, context, nextResolve) {
  let resolved;
  try {
    resolved = await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !isBare(specifier) || context.parentURL === projectRoot) throw error;
    resolved = await nextResolve(specifier, { ...context, parentURL: projectRoot });
  }
  if (isOwnTypeScript(resolved.url) && resolved.format !== 'module') return { ...resolved, url: withoutCommonJsMark(resolved.url), format: 'module' };
  if (isOwnCommonJs(resolved) && hasModuleSyntax(resolved.url)) return { ...resolved, format: 'module' };
  return resolved;
}
