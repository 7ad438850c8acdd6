import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface Proc {
  readonly pid: number;
  readonly comm: string;
  readonly cmdline: string;
  readonly rssKiB: number;
}

/** A process's resident memory, or 0 when it has ended. */
export function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** The processes `roots` and all their descendants, read from /proc. */
export function processTree(roots: readonly number[]): Proc[] {
  const children = new Map<number, number[]>();
  const info = new Map<number, Proc>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const pid = Number(entry);
      info.set(pid, { pid, comm, cmdline, rssKiB: rssKiB(pid) });
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      // the process ended meanwhile
    }
  }
  const found: Proc[] = [];
  const visit = (pid: number): void => {
    const proc = info.get(pid);
    if (proc) found.push(proc);
    for (const child of children.get(pid) ?? []) visit(child);
  };
  for (const root of roots) visit(root);
  return found;
}

/** Every process below the panes of a tmux server: what the daemon's sessions run. */
export function tmuxPaneProcesses(tmuxSocket: string): Proc[] {
  const panes = execFileSync('tmux', ['-S', tmuxSocket, 'list-panes', '-a', '-F', '#{pane_pid}'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  return processTree(panes);
}
