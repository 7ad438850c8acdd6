import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseUsageAnswer } from '../../../../core/usage/usage-answer.ts';

/** As CLI 2.1.197 answered with ANTHROPIC_API_KEY set (measured). */
const apiKeyUsage = {
  session: { total_cost_usd: 0, total_api_duration_ms: 0, total_duration_ms: 919, total_lines_added: 0, total_lines_removed: 0, model_usage: {} },
  subscription_type: null,
  rate_limits_available: false,
  rate_limits: null,
  behaviors: null,
};
const apiKeyAccount = { tokenSource: 'none', apiKeySource: 'ANTHROPIC_API_KEY', apiProvider: 'firstParty' };

describe('the answer of get_usage and initialize', () => {
  test('an API key: no subscription, no windows', () => {
    assert.deepEqual(parseUsageAnswer(apiKeyUsage, apiKeyAccount), { auth: 'api_key' });
  });

  test('a subscriber: type, the 5-hour and 7-day windows in percent with their reset times; other windows are left out', () => {
    const reading = parseUsageAnswer(
      {
        subscription_type: 'max',
        rate_limits_available: true,
        rate_limits: {
          five_hour: { utilization: 42.5, resets_at: '2026-12-01T15:00:00+00:00' },
          seven_day: { utilization: 7, resets_at: '2026-12-05T00:00:00Z' },
          seven_day_opus: { utilization: 90, resets_at: null },
          extra: 'ignored',
        },
      },
      { tokenSource: 'claude.ai', apiKeySource: 'none', apiProvider: 'firstParty', subscriptionType: 'max' },
    );
    assert.deepEqual(reading, {
      auth: 'subscription',
      subscriptionType: 'max',
      fiveHour: { utilization: 42.5, resetsAt: '2026-12-01T15:00:00.000Z' },
      sevenDay: { utilization: 7, resetsAt: '2026-12-05T00:00:00.000Z' },
    });
  });

  test('an OAuth login without usage numbers is still a subscription; a window without a number is no window', () => {
    assert.deepEqual(parseUsageAnswer({ rate_limits: null }, { tokenSource: 'CLAUDE_CODE_OAUTH_TOKEN', apiKeySource: 'none' }), { auth: 'subscription' });
    assert.deepEqual(parseUsageAnswer({ subscription_type: 'pro', rate_limits: { five_hour: { utilization: null, resets_at: 'x' }, seven_day: { utilization: 3, resets_at: 'not a time' } } }), {
      auth: 'subscription',
      subscriptionType: 'pro',
      sevenDay: { utilization: 3 },
    });
  });

  test('a cloud provider bills per token; nothing known is unknown; junk does not throw', () => {
    assert.equal(parseUsageAnswer({}, { tokenSource: 'none', apiKeySource: 'none', apiProvider: 'bedrock' }).auth, 'api_key');
    assert.deepEqual(parseUsageAnswer({}), { auth: 'unknown' });
    assert.deepEqual(parseUsageAnswer(null, 'junk'), { auth: 'unknown' });
    assert.deepEqual(parseUsageAnswer([1, 2], [3]), { auth: 'unknown' });
  });
});
