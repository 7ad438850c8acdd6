import fs from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogSink {
  write(line: string): void;
}

/** A logger writing one human-readable line per record to every sink. */
export function createLogger(options: { level: LogLevel; sinks: LogSink[]; scope?: string }): Logger {
  const emit = (level: LogLevel, scope: string | undefined, message: string, fields?: Record<string, unknown>): void => {
    if (rank[level] < rank[options.level]) return;
    const extra = fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : '';
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${scope ? `[${scope}] ` : ''}${message}${extra}\n`;
    for (const sink of options.sinks) sink.write(line);
  };
  const make = (scope: string | undefined): Logger => ({
    debug: (m, f) => emit('debug', scope, m, f),
    info: (m, f) => emit('info', scope, m, f),
    warn: (m, f) => emit('warn', scope, m, f),
    error: (m, f) => emit('error', scope, m, f),
    child: (s) => make(scope ? `${scope}.${s}` : s),
  });
  return make(options.scope);
}

export function fileSink(path: string): LogSink & { close(): void } {
  const fd = fs.openSync(path, 'a', 0o600);
  return {
    write: (line) => fs.writeSync(fd, line),
    close: () => fs.closeSync(fd),
  };
}

export const stderrSink: LogSink = { write: (line) => process.stderr.write(line) };

export const silentLogger: Logger = createLogger({ level: 'error', sinks: [] });

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v));
  } catch {
    return '[unserializable]';
  }
}
