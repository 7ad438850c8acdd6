import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leadLabels } from '../../../../core/extension-host/session-labels.ts';
import { sessionListHtml } from '../../../../extensions/telegram/session-list.ts';
import { fakeSession } from '../extension-fixture.ts';

test('/sessions shows the sessions working for a chat session under it', () => {
  const lead = fakeSession('tg:1', { id: 's_lead', name: 'main', cwd: '/w', status: 'busy', labels: { frontend: 'telegram', chat: '1' } });
  const other = fakeSession('tg:1', { id: 's_other', name: 'notes', cwd: '/n', labels: { frontend: 'telegram', chat: '1' } });
  const worker = fakeSession('tg:1', { id: 's_w', name: 'alpha w-1', cwd: '/w/.git/x', status: 'busy', queued: 1, labels: leadLabels('s_lead') });
  const html = sessionListHtml([lead, other], [lead, other, worker], 's_lead');
  assert.equal(html, '● <b>main</b> — busy\n   <code>/w</code>\n   ↳ alpha w-1 — busy, 1 queued\n○ <b>notes</b> — idle\n   <code>/n</code>');
});
