import { headAndTail, visibleText } from '../approvals/call-text.ts';
import type { EngineEvent, TurnResult } from '../sessions/events.ts';
import type { SessionSummary } from '../sessions/session-types.ts';
import type { Output } from './cli-context.ts';

/**
 * Prints a prompt's events for a person: text as it is written on stdout, one line per tool call and
 * the cost footer on stderr (so stdout pipes cleanly).
 */
export class EventPrinter {
  private streamedText = false;
  private atLineStart = true;

  constructor(private readonly output: Output) {}

  print(event: EngineEvent): void {
    switch (event.type) {
      case 'queued':
        if (event.position > 0) this.note(`queued: ${event.position} ahead`);
        break;
      case 'text':
        if (event.partial) {
          this.streamedText = true;
          this.write(event.text);
        } else if (!this.streamedText) {
          this.write(event.text);
          this.write('\n');
        } else {
          this.streamedText = false;
          if (!this.atLineStart) this.write('\n');
        }
        break;
      case 'tool_use':
        this.note(`⚙ ${event.name} ${summarizeInput(event.input)}`);
        break;
      case 'tool_result':
        if (event.isError) this.note(`✗ tool error: ${oneLine(event.content, 200)}`);
        break;
      case 'error':
        this.note(`error: ${event.message}`);
        break;
      case 'tool_call_lost':
        this.note(`✗ the ${event.tool} call was cut by a daemon restart and not made again; the turn is stopped`);
        break;
      case 'approval_requested':
        this.note(`⏸ waits for approval ${event.id}: ${visibleText(event.summary)} (claude-ext approve ${event.id} | deny ${event.id})`);
        break;
      case 'approval_resolved':
        this.note(`${event.decision === 'allow' ? '▶' : '✗'} approval ${event.id}: ${event.decision} by ${visibleText(event.by)}${event.reason ? ` (${headAndTail(visibleText(event.reason), 300)})` : ''}`);
        break;
      case 'extension':
        if (typeof event.data.summary === 'string') this.note(`[${event.extension}] ${event.data.summary}`);
        break;
      default:
        break;
    }
  }

  finish(result: TurnResult): void {
    if (!this.atLineStart) this.write('\n');
    if (result.outcome !== 'success') this.output.err(`${result.outcome}: ${oneLine(result.text, 500)}\n`);
    this.output.err(`— ${formatCost(result.costUsd)} · ${result.numTurns} turn${result.numTurns === 1 ? '' : 's'} · ${(result.durationMs / 1000).toFixed(1)} s\n`);
  }

  private write(text: string): void {
    if (text.length === 0) return;
    this.output.out(text);
    this.atLineStart = text.endsWith('\n');
  }

  private note(line: string): void {
    if (!this.atLineStart) {
      this.output.out('\n');
      this.atLineStart = true;
    }
    this.output.err(`${line}\n`);
  }
}

export function formatCost(usd: number): string {
  return `$${usd < 0.01 && usd > 0 ? usd.toFixed(4) : usd.toFixed(2)}`;
}

export function sessionTable(sessions: readonly SessionSummary[]): string {
  if (sessions.length === 0) return 'no sessions\n';
  const rows = sessions.map((s) => [
    s.id,
    s.user,
    s.name,
    s.status + (s.warm ? '' : ' (cold)'),
    String(s.queued),
    String(s.counters.prompts),
    formatCost(s.counters.costUsd),
    s.cwd,
  ]);
  const header = ['ID', 'USER', 'NAME', 'STATUS', 'QUEUED', 'PROMPTS', 'COST', 'CWD'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const format = (cells: string[]): string => `${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`;
  return format(header) + rows.map(format).join('');
}

function summarizeInput(input: unknown): string {
  if (input && typeof input === 'object') {
    const record = input as Record<string, unknown>;
    for (const key of ['command', 'file_path', 'path', 'pattern', 'url', 'description']) {
      if (typeof record[key] === 'string') return oneLine(record[key] as string, 120);
    }
  }
  return oneLine(JSON.stringify(input) ?? '', 120);
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
