/** Something that knows secret values and hides them in text. */
export interface Redactor {
  redact(text: string): string;
  /**
   * Hides what a tool call carries before the tool has run (a value being stored is not known yet
   * when the call is announced). Returns the input to show.
   */
  maskToolInput?(toolName: string, input: unknown): unknown;
}

/** Applies the redactors to an event: tool inputs first, then every string. */
export function redactEvent<E extends { readonly type: string }>(event: E, redactors: readonly Redactor[]): E {
  if (redactors.length === 0) return event;
  let masked: E = event;
  if (event.type === 'tool_use') {
    const call = event as unknown as { name: string; input: unknown };
    const input = redactors.reduce((value, redactor) => (redactor.maskToolInput ? redactor.maskToolInput(call.name, value) : value), call.input);
    if (input !== call.input) masked = { ...event, input };
  }
  return redactDeep(masked, redactors);
}

/** Applies every redactor to every string in a value, returning a copy (or the value itself when nothing changed). */
export function redactDeep<T>(value: T, redactors: readonly Redactor[]): T {
  if (redactors.length === 0) return value;
  return walk(value, redactors) as T;
}

function walk(value: unknown, redactors: readonly Redactor[]): unknown {
  if (typeof value === 'string') return redactors.reduce((text, redactor) => redactor.redact(text), value);
  if (Array.isArray(value)) return value.map((item) => walk(item, redactors));
  if (value && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = walk(item, redactors);
    return copy;
  }
  return value;
}

/**
 * A redactor for a set of secret values: each occurrence becomes `[REDACTED]`. Longer values are
 * replaced first so a value containing another is hidden whole.
 */
export function valuesRedactor(values: () => readonly string[]): Redactor & { invalidate(): void } {
  let pattern: RegExp | null | undefined;
  const build = (): RegExp | null => {
    const list = [...new Set(values().filter((v) => v.length >= 3))].sort((a, b) => b.length - a.length);
    return list.length === 0 ? null : new RegExp(list.map(escapeRegExp).join('|'), 'g');
  };
  return {
    redact(text) {
      if (pattern === undefined) pattern = build();
      return pattern ? text.replace(pattern, '[REDACTED]') : text;
    },
    invalidate() {
      pattern = undefined;
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
