import type { UsageSnapshot, UsageWindow } from './usage-types.ts';

/** One line about the account and its limits, e.g. `subscription (max): 5h 42% (resets 14:00 UTC), 7d 10% (...)`. */
export function describeUsage(snapshot: UsageSnapshot, now = Date.now()): string {
  const windows = [windowText('5h', snapshot.fiveHour, now), windowText('7d', snapshot.sevenDay, now)].filter(Boolean).join(', ');
  const account = describeAccount(snapshot);
  const limits = snapshot.auth === 'subscription' && !snapshot.error ? (windows ? `: ${windows}` : ': no utilisation reported') : '';
  return `${account}${limits}${snapshot.error ? `; no reading: ${snapshot.error}` : ''}`;
}

/** `subscription (max)`, `API key (no subscription limits)` or `unknown account`. */
export function describeAccount(snapshot: Pick<UsageSnapshot, 'auth' | 'subscriptionType'>): string {
  if (snapshot.auth === 'subscription') return `subscription${snapshot.subscriptionType ? ` (${snapshot.subscriptionType})` : ''}`;
  return snapshot.auth === 'api_key' ? 'API key (no subscription limits)' : 'unknown account';
}

function windowText(label: string, window: UsageWindow | undefined, now: number): string {
  if (!window) return '';
  return `${label} ${formatPercent(window.utilization)}${window.resetsAt ? ` (resets ${formatReset(window.resetsAt, now)})` : ''}`;
}

export function formatPercent(value: number): string {
  return `${Number.isInteger(value) ? value : value.toFixed(1)}%`;
}

/** `14:05 UTC` within a day, else `2026-12-03 14:05 UTC`. */
export function formatReset(iso: string, now = Date.now()): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return iso;
  const text = new Date(time).toISOString();
  return time - now < 86_400_000 ? `${text.slice(11, 16)} UTC` : `${text.slice(0, 10)} ${text.slice(11, 16)} UTC`;
}
