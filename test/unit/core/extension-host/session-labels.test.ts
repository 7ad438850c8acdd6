import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backgroundLabels, isBackgroundSession, leadLabels, leadOf } from '../../../../core/extension-host/session-labels.ts';

test('a session working for a lead names it in its labels; other sessions have no lead', () => {
  const worker = { labels: { ...backgroundLabels('subagent'), ...leadLabels('s_lead') } };
  assert.equal(leadOf(worker), 's_lead');
  assert.equal(isBackgroundSession(worker), true);
  assert.equal(leadOf({ labels: { frontend: 'telegram', chat: '1' } }), undefined);
});
