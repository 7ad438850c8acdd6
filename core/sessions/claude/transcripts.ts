import fs from 'node:fs';
import path from 'node:path';

/**
 * Whether the CLI has stored a conversation, so `--resume` can find it. The CLI keeps transcripts at
 * `<config dir>/projects/<munged cwd>/<id>.jsonl`; the id is unique, so every project dir is checked
 * rather than copying the CLI's rule for munging paths.
 */
export function conversationStored(sessionEnv: Readonly<Record<string, string>>, conversationId: string): boolean {
  return findTranscript(sessionEnv, conversationId) !== undefined;
}

/** The transcript's path relative to the CLI's config dir (`projects/<dir>/<id>.jsonl`), if stored. */
function findTranscript(sessionEnv: Readonly<Record<string, string>>, conversationId: string): string | undefined {
  const configDir = configDirOf(sessionEnv);
  if (!configDir) return undefined;
  const projects = path.join(configDir, 'projects');
  let dirs: string[];
  try {
    dirs = fs.readdirSync(projects);
  } catch {
    return undefined;
  }
  const dir = dirs.find((entry) => {
    try {
      return fs.statSync(path.join(projects, entry, `${conversationId}.jsonl`)).size > 0;
    } catch {
      return false;
    }
  });
  return dir === undefined ? undefined : path.join('projects', dir, `${conversationId}.jsonl`);
}

/**
 * Copies a conversation the CLI stored under another HOME (a session started before it had a HOME of
 * its user's) into `to`'s, with the files the CLI keeps beside it, so `--resume` finds it. Returns
 * whether the conversation is now stored there.
 */
export function adoptTranscript(from: Readonly<Record<string, string>>, to: Readonly<Record<string, string>>, conversationId: string): boolean {
  const source = configDirOf(from);
  const target = configDirOf(to);
  const relative = findTranscript(from, conversationId);
  if (!source || !target || !relative || path.resolve(source) === path.resolve(target)) return false;
  fs.mkdirSync(path.dirname(path.join(target, relative)), { recursive: true, mode: 0o700 });
  fs.copyFileSync(path.join(source, relative), path.join(target, relative));
  const beside = path.join(source, relative.replace(/\.jsonl$/, ''));
  if (fs.existsSync(beside)) fs.cpSync(beside, path.join(target, relative.replace(/\.jsonl$/, '')), { recursive: true });
  return true;
}

function configDirOf(sessionEnv: Readonly<Record<string, string>>): string | undefined {
  return sessionEnv.CLAUDE_CONFIG_DIR ?? (sessionEnv.HOME ? path.join(sessionEnv.HOME, '.claude') : undefined);
}
