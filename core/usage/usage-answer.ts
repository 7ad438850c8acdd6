import type { AuthMode, UsageReading, UsageWindow } from './usage-types.ts';

/**
 * Reads the CLI's answers loosely (fields come and go between versions): `get_usage` gives
 * `subscription_type` and, for a subscriber, `rate_limits` with `five_hour` and `seven_day` windows of
 * `{utilization, resets_at}` (utilization in percent, 0–100); `initialize` gives `account` with
 * `tokenSource`, `apiKeySource` and `apiProvider`.
 */
export function parseUsageAnswer(getUsage: unknown, account?: unknown): UsageReading {
  const usage = asRecord(getUsage) ?? {};
  const limits = asRecord(usage.rate_limits);
  const subscriptionType = nonEmptyString(usage.subscription_type) ?? nonEmptyString(asRecord(account)?.subscriptionType);
  const fiveHour = usageWindow(limits?.five_hour);
  const sevenDay = usageWindow(limits?.seven_day);
  return {
    auth: authMode(usage, limits, subscriptionType, asRecord(account)),
    ...(subscriptionType ? { subscriptionType } : {}),
    ...(fiveHour ? { fiveHour } : {}),
    ...(sevenDay ? { sevenDay } : {}),
  };
}

function authMode(usage: Record<string, unknown>, limits: Record<string, unknown> | undefined, subscriptionType: string | undefined, account: Record<string, unknown> | undefined): AuthMode {
  if (subscriptionType || limits || usage.rate_limits_available === true) return 'subscription';
  const provider = nonEmptyString(account?.apiProvider);
  // Bedrock, Vertex and the like bill per token: no subscription limits.
  if (provider && provider !== 'firstParty') return 'api_key';
  const apiKeySource = nonEmptyString(account?.apiKeySource);
  if (apiKeySource && apiKeySource !== 'none') return 'api_key';
  const tokenSource = nonEmptyString(account?.tokenSource);
  if (tokenSource && tokenSource !== 'none') return 'subscription';
  return 'unknown';
}

function usageWindow(value: unknown): UsageWindow | undefined {
  const window = asRecord(value);
  const utilization = window?.utilization;
  if (typeof utilization !== 'number' || !Number.isFinite(utilization)) return undefined;
  const resetsAt = resetTime(window?.resets_at ?? window?.resetsAt);
  return { utilization, ...(resetsAt ? { resetsAt } : {}) };
}

/** An ISO time, or epoch seconds (as `rate_limit_event` lines give them), as an ISO time. */
function resetTime(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value < 1e12 ? value * 1000 : value).toISOString();
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}
