import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { findCycles, importsOf, sourceFiles } from './import-graph.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const rel = (file: string): string => path.relative(ROOT, file);

test('extensions import only the public API: nothing from core/ and nothing of another extension', () => {
  const offences: string[] = [];
  for (const file of sourceFiles(ROOT, ['extensions'])) {
    const own = rel(file).split(path.sep).slice(0, 2).join('/');
    for (const target of importsOf(file).relative) {
      const to = rel(target);
      if (to.startsWith('core/') || to.startsWith('mcp/')) offences.push(`${rel(file)} imports ${to}`);
      else if (to.startsWith('extensions/') && !to.startsWith(`${own}/`)) offences.push(`${rel(file)} imports ${to}, which belongs to another extension`);
    }
  }
  assert.deepEqual(offences, [], 'use claude-ext/extension and claude-ext/mcp instead');
});

test('core never imports an extension', () => {
  const offences = sourceFiles(ROOT, ['core', 'mcp', 'main.ts']).flatMap((file) =>
    importsOf(file)
      .relative.filter((target) => rel(target).startsWith('extensions/'))
      .map((target) => `${rel(file)} imports ${rel(target)}`),
  );
  assert.deepEqual(offences, []);
});

test('no module imports itself through others (type imports count too)', () => {
  const files = sourceFiles(ROOT, ['main.ts', 'core', 'mcp', 'extensions']);
  const cycles = findCycles(files).map((cycle) => cycle.map(rel).join(' -> '));
  assert.deepEqual(cycles, []);
});

test('no file under core/ is over 420 lines', () => {
  const long = sourceFiles(ROOT, ['core'])
    .map((file) => ({ file: rel(file), lines: fs.readFileSync(file, 'utf8').split('\n').length }))
    .filter((entry) => entry.lines > 420);
  assert.deepEqual(long, []);
});

test('the import graph sees cycles and imports of core (the checks above can fail)', () => {
  const dir = fs.mkdtempSync(path.join(ROOT, 'test', 'unit', 'architecture', '.tmp-'));
  try {
    fs.writeFileSync(path.join(dir, 'a.ts'), "import type { B } from './b.ts';\nexport type A = B;\n");
    fs.writeFileSync(path.join(dir, 'b.ts'), "export { type A } from './a.ts';\nexport type B = 1;\n");
    fs.writeFileSync(path.join(dir, 'c.ts'), "import x from '../../../../core/util/ids.ts';\nconst y = await import('./a.ts');\n");
    const files = sourceFiles(dir, ['.']);
    assert.equal(findCycles(files).length, 1);
    const imports = importsOf(path.join(dir, 'c.ts')).relative.map(rel);
    assert.deepEqual(imports.sort(), ['core/util/ids.ts', rel(path.join(dir, 'a.ts'))].sort());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
