import fs from 'node:fs';
import path from 'node:path';

/** TypeScript sources under the given folders or files of `root`, tests and declaration files left out. */
export function sourceFiles(root: string, entries: readonly string[]): string[] {
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.resolve(root, entry);
    if (!fs.existsSync(full)) continue;
    if (fs.statSync(full).isFile()) {
      files.push(full);
      continue;
    }
    for (const name of fs.readdirSync(full, { recursive: true }).map(String)) {
      if (name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.test.ts') && !name.split(path.sep).includes('node_modules')) files.push(path.join(full, name));
    }
  }
  return files.sort();
}

const SPECIFIERS = [
  /^\s*import\s+(?:type\s+)?[^'";]*?\s+from\s+['"]([^'"]+)['"]/gm,
  /^\s*import\s+['"]([^'"]+)['"]/gm,
  /^\s*export\s+(?:type\s+)?(?:\*|\{[^}]*\})\s+from\s+['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** What a file imports: relative imports resolved to files, bare ones as written. */
export function importsOf(file: string): { relative: string[]; bare: string[] } {
  const text = fs.readFileSync(file, 'utf8');
  const relative = new Set<string>();
  const bare = new Set<string>();
  for (const pattern of SPECIFIERS) {
    for (const match of text.matchAll(pattern)) {
      const specifier = match[1] as string;
      if (specifier.startsWith('.')) relative.add(path.resolve(path.dirname(file), specifier));
      else bare.add(specifier);
    }
  }
  return { relative: [...relative], bare: [...bare] };
}

/** Every strongly connected group of more than one module (Tarjan), each as a path through it. */
export function findCycles(files: readonly string[]): string[][] {
  const known = new Set(files);
  const edges = new Map(files.map((file) => [file, importsOf(file).relative.filter((target) => known.has(target))]));
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of edges.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node) as number, low.get(target) as number));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node) as number, index.get(target) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      const selfLoop = (edges.get(node) ?? []).includes(node);
      if (group.length > 1 || selfLoop) groups.push(group.reverse());
    }
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return groups;
}
