import fs from 'node:fs';
import path from 'node:path';

/**
 * Whether the CLI has stored a conversation, so `--resume` can find it. The CLI keeps transcripts at
 * `<config dir>/projects/<munged cwd>/<id>.jsonl`; the id is unique, so every project dir is checked
 * rather than copying the CLI's rule for munging paths.
 */
export function conversationStored(sessionEnv: Readonly<Record<string, string>>, conversationId: string): boolean {
  const configDir = sessionEnv.CLAUDE_CONFIG_DIR ?? (sessionEnv.HOME ? path.join(sessionEnv.HOME, '.claude') : undefined);
  if (!configDir) return false;
  const projects = path.join(configDir, 'projects');
  let dirs: string[];
  try {
    dirs = fs.readdirSync(projects);
  } catch {
    return false;
  }
  return dirs.some((dir) => {
    try {
      return fs.statSync(path.join(projects, dir, `${conversationId}.jsonl`)).size > 0;
    } catch {
      return false;
    }
  });
}
