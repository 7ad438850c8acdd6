/**
 * How the built daemon and CLI load an extension's own files (dist/core/extension-host/module-import.js):
 * JavaScript and TypeScript from a directory outside the package, with no node_modules of their own,
 * import the package's dependencies and its public API, and share the daemon's module instances.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODULE_IMPORT = pathToFileURL(path.join(ROOT, 'dist/core/extension-host/module-import.js')).href;
const PUBLIC_MCP = pathToFileURL(path.join(ROOT, 'dist/mcp/index.js')).href;

const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'ext-modules-'));
after(() => fs.rmSync(outside, { recursive: true, force: true }));

const EXTENSION_BODY = `
import { z } from 'zod';
import { defineTool } from 'claude-ext/mcp';
import { newId } from 'claude-ext/extension';
export const schema = z.object({ n: z.number() });
export const defineToolOfApi = defineTool;
export const id = newId('t');
`;

/** Loads the files in order, in one fresh Node process, as the built daemon does; what they export, compared. */
function loadInOneProcess(files: string[]): { code: number | null; out: Record<string, unknown>; stderr: string } {
  const script = `
    const { importExtensionModule } = await import(${JSON.stringify(MODULE_IMPORT)});
    const api = await import(${JSON.stringify(PUBLIC_MCP)});
    const out = {};
    for (const file of ${JSON.stringify(files)}) {
      const m = await importExtensionModule(file);
      out[file] = { parses: m.schema.safeParse({ n: 1 }).success, sameApi: m.defineToolOfApi === api.defineTool, id: m.id.startsWith('t_') };
    }
    process.stdout.write(JSON.stringify(out));
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: outside, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { code: run.status, out: run.status === 0 ? (JSON.parse(run.stdout) as Record<string, unknown>) : {}, stderr: run.stderr };
}

describe('extension modules from outside the package, loaded by the built code', () => {
  const js = path.join(outside, 'js-ext', 'extension.js');
  const mjs = path.join(outside, 'mjs-ext', 'extension.mjs');
  const ts = path.join(outside, 'ts-ext', 'extension.ts');
  for (const file of [js, mjs, ts]) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, file.endsWith('.ts') ? `${EXTENSION_BODY}\nconst typed: number = 1;\nexport const n = typed;\n` : EXTENSION_BODY);
  }
  const expected = { parses: true, sameApi: true, id: true };

  test('a .js and a .mjs extension import zod and the public API, sharing the daemon\'s modules', () => {
    const run = loadInOneProcess([js, mjs]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual([run.out[js], run.out[mjs]], [expected, expected]);
  });

  test('a .ts extension is compiled on demand and shares them too', () => {
    const run = loadInOneProcess([ts]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.out[ts], expected);
  });

  test('JavaScript still loads as ES modules after TypeScript was loaded in the same process', () => {
    const run = loadInOneProcess([ts, js]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual([run.out[ts], run.out[js]], [expected, expected]);
  });

  test('a reload of an extension inside the package (the built bundled ones) runs the new code of its helper files', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, 'test', 'e2e', '.tmp-inside-'));
    try {
      const entry = path.join(dir, 'extension.js');
      const helper = path.join(dir, 'label.js');
      fs.writeFileSync(entry, "export { label } from './label.js';\n");
      fs.writeFileSync(helper, "export const label = 'old';\n");
      const script = `
        const fs = await import('node:fs');
        const { importExtensionModule } = await import(${JSON.stringify(MODULE_IMPORT)});
        const first = await importExtensionModule(${JSON.stringify(entry)}, { id: '1', dir: ${JSON.stringify(dir)} });
        fs.writeFileSync(${JSON.stringify(helper)}, "export const label = 'new';\\n");
        const second = await importExtensionModule(${JSON.stringify(entry)}, { id: '2', dir: ${JSON.stringify(dir)} });
        process.stdout.write(JSON.stringify([first.label, second.label]));
      `;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), ['old', 'new']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
