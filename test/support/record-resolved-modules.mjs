// Loaded with `node --import` after bin/register-hooks.mjs: appends every URL the module loader
// resolves, one a line, to the file named by RECORD_RESOLVED_MODULES_TO. Tests use it to see what a
// command loads.
import fs from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

let recordFile;

export function initialize(data) {
  recordFile = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (recordFile) fs.appendFileSync(recordFile, `${resolved.url}\n`);
  return resolved;
}

// The hooks run in a thread of their own, which loads this file again: only the main thread registers.
if (isMainThread && process.env.RECORD_RESOLVED_MODULES_TO) {
  register(import.meta.url, { data: { file: process.env.RECORD_RESOLVED_MODULES_TO } });
}
