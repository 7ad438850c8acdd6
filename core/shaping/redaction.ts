/**
 * Something that knows secret values and hides them in text. Text belongs to a user (the user of the
 * session it comes from): a redactor hides that user's secrets in it, and secrets that belong to no
 * user (a bot token). Never another user's: a user who could see which guesses of another user's
 * secret come back as `[REDACTED]` could find it out.
 */
export interface Redactor {
  /**
   * `user` is whose text it is; `undefined` when the text belongs to no known user, and then every
   * user's secrets are hidden.
   */
  redact(text: string, user: string | undefined): string;
  /**
   * Hides what a tool call carries before the tool has run (a value being stored is not known yet
   * when the call is announced). Returns the input to show.
   */
  maskToolInput?(toolName: string, input: unknown, user: string | undefined): unknown;
}

/** Applies the redactors to an event for the event's user: tool inputs first, then every string. */
export function redactEvent<E extends { readonly type: string; readonly user?: string }>(event: E, redactors: readonly Redactor[]): E {
  if (redactors.length === 0) return event;
  const user = event.user;
  let masked: E = event;
  if (event.type === 'tool_use') {
    const call = event as unknown as { name: string; input: unknown };
    const input = redactors.reduce((value, redactor) => (redactor.maskToolInput ? redactor.maskToolInput(call.name, value, user) : value), call.input);
    if (input !== call.input) masked = { ...event, input };
  }
  return redactDeep(masked, redactors, user);
}

/**
 * Applies every redactor to every string in a value that belongs to `user` (`undefined`: to no known
 * user), returning a copy (or the value itself when nothing changed).
 */
export function redactDeep<T>(value: T, redactors: readonly Redactor[], user: string | undefined): T {
  if (redactors.length === 0) return value;
  return walk(value, redactors, user) as T;
}

/**
 * A copy of `root` with `text` applied to every string in it. It walks with a stack of its own, not by
 * recursion, so no nesting depth a model can produce (a tool input nested thousands deep) overflows it.
 */
function walk(root: unknown, redactors: readonly Redactor[], user: string | undefined): unknown {
  const text = (value: string): string => redactors.reduce((current, redactor) => redactor.redact(current, user), value);
  const shallowCopy = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value);
    if (Array.isArray(value)) return [...value];
    if (value && typeof value === 'object') return { ...value };
    return value;
  };
  const copy = shallowCopy(root);
  const containers: Record<string, unknown>[] = [];
  if (copy && typeof copy === 'object') containers.push(copy as Record<string, unknown>);
  for (let container = containers.pop(); container; container = containers.pop()) {
    for (const key of Object.keys(container)) {
      const child = shallowCopy(container[key]);
      container[key] = child;
      if (child && typeof child === 'object') containers.push(child as Record<string, unknown>);
    }
  }
  return copy;
}

/**
 * A redactor for secret values: each occurrence of a value of the text's user becomes `[REDACTED]`.
 * `values(user)` gives a user's values (`undefined`: every user's); values that belong to no user are
 * returned for every user. Longer values are replaced first so a value containing another is hidden
 * whole. The pattern compiled for each user is kept until `invalidate()`.
 */
export function valuesRedactor(values: (user: string | undefined) => readonly string[]): Redactor & { invalidate(): void } {
  const patterns = new Map<string | undefined, RegExp | null>();
  const build = (user: string | undefined): RegExp | null => {
    const list = [...new Set(values(user).filter((v) => v.length >= 3))].sort((a, b) => b.length - a.length);
    return list.length === 0 ? null : new RegExp(list.map(escapeRegExp).join('|'), 'g');
  };
  return {
    redact(text, user) {
      let pattern = patterns.get(user);
      if (pattern === undefined) {
        pattern = build(user);
        patterns.set(user, pattern);
      }
      return pattern ? text.replace(pattern, '[REDACTED]') : text;
    },
    invalidate() {
      patterns.clear();
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
