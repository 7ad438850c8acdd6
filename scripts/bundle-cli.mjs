// Bundles the CLI's client side (main.ts and what its commands import) into dist/cli/, so a command
// such as `claude-ext status` loads a few files instead of dozens. What must stay one module with the
// daemon and extensions is imported from the tsc build instead: the daemon itself (`start`) and the
// RPC protocol (whose RpcError extensions' commands may test for). Packages are left to node_modules,
// except yaml, which is many small CommonJS files (slow to load one by one).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'cli');
/** Source files the bundle imports from the tsc build in dist/, as paths relative to the project. */
const FROM_BUILD = ['core/daemon.ts', 'core/bridge/rpc-protocol.ts'];
const INLINED_PACKAGES = new Set(['yaml']);

const fromBuild = {
  name: 'from-build',
  setup(bundler) {
    bundler.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (!args.path.startsWith('.') && !path.isAbsolute(args.path)) {
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        return INLINED_PACKAGES.has(name) || args.path.startsWith('node:') ? undefined : { path: args.path, external: true };
      }
      const source = path.relative(root, path.resolve(args.resolveDir, args.path));
      if (!FROM_BUILD.includes(source)) return undefined;
      const built = path.join(root, 'dist', source.replace(/\.ts$/, '.js'));
      return { path: `./${path.relative(outdir, built)}`, external: true };
    });
  },
};

// Chunk names change with their content: start empty so no old chunk stays behind.
fs.rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: [path.join(root, 'main.ts')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  plugins: [fromBuild],
  // yaml is CommonJS and requires Node's modules; an ES module has no `require` of its own.
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
});
