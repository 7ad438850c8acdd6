// The dashboard: a hash-routed page over the HTTP API. Logs in with a token (the API sets an HttpOnly
// cookie and answers the CSRF token every write sends), lists sessions, shows one session's
// conversation live from its event stream with the tool calls that wait for approval, and the daemon's
// usage, approval rules, cron jobs, heartbeat, extensions and log.
// Text from sessions is untrusted: it reaches the page only escaped (textContent or renderMarkdown).
import { renderMarkdown } from './markdown.js';

const main = document.getElementById('main');
const CSRF_KEY = 'claude-ext-csrf';
let cleanup = () => {};

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(method, url, body) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = sessionStorage.getItem(CSRF_KEY) ?? '';
  const response = await fetch(url, { method, headers, body: body !== undefined ? JSON.stringify(body) : undefined, credentials: 'same-origin' });
  const text = await response.text();
  const data = text ? JSON.parse(text) : undefined;
  if (response.status === 401 || (response.status === 403 && data?.error?.code === 'csrf')) {
    location.hash = '#/login';
    throw new ApiError(response.status, data?.error?.code, 'please log in');
  }
  if (!response.ok) throw new ApiError(response.status, data?.error?.code, data?.error?.message ?? `HTTP ${response.status}`);
  return data;
}

/** Builds an element; children are nodes or text (text is never parsed as HTML). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'className') el.className = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) el.append(child instanceof Node ? child : String(child));
  return el;
}

const money = (usd) => (typeof usd === 'number' ? `$${usd.toFixed(usd < 1 ? 4 : 2)}` : '—');
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
function ago(iso) {
  if (!iso) return '—';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}
const statusBadge = (status) => h('span', { className: `status ${status}` }, status);
const errorBox = (error) => h('p', { className: 'error', role: 'alert' }, error instanceof Error ? error.message : String(error));

// ---- login

function loginView() {
  const input = h('input', { type: 'password', name: 'token', placeholder: 'cxt_... or the admin token', autocomplete: 'current-password', required: true });
  const message = h('p', { className: 'error', role: 'alert' });
  const form = h('form', { className: 'panel login', onsubmit: async (event) => {
    event.preventDefault();
    message.textContent = '';
    try {
      const answer = await api('POST', '/api/login', { token: input.value.trim() });
      sessionStorage.setItem(CSRF_KEY, answer.csrfToken);
      location.hash = '#/';
    } catch (error) {
      message.textContent = error.status === 401 ? 'That token is not valid.' : error.message;
    }
  } },
  h('h1', {}, 'Log in'),
  h('label', {}, 'API token', h('br'), input),
  h('p', { className: 'muted' }, 'Make one with: claude-ext token create --user NAME'),
  h('button', { type: 'submit' }, 'Log in'),
  message);
  main.replaceChildren(form);
  input.focus();
}

// ---- sessions

async function sessionsView() {
  const body = h('tbody');
  const table = h('table', { className: 'cards', id: 'sessions' },
    h('thead', {}, h('tr', {}, ['Session', 'Status', 'User', 'Working directory', 'Queue', 'Cost today', 'Cost in total', 'Last activity'].map((t) => h('th', { className: ['Queue', 'Cost today', 'Cost in total'].includes(t) ? 'num' : undefined }, t)))),
    body);
  const problem = h('div');
  const nameInput = h('input', { name: 'name', placeholder: 'name (optional)' });
  const create = h('form', { className: 'row', onsubmit: async (event) => {
    event.preventDefault();
    try {
      const session = await api('POST', '/api/sessions', nameInput.value.trim() ? { name: nameInput.value.trim() } : {});
      location.hash = `#/s/${encodeURIComponent(session.id)}`;
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  } }, nameInput, h('button', { type: 'submit' }, 'New session'));
  main.replaceChildren(h('h1', {}, 'Sessions'), create, problem, h('p'), table);
  const refresh = async () => {
    try {
      const sessions = await api('GET', '/api/sessions');
      sessions.sort((a, b) => (b.lastActiveAt ?? '').localeCompare(a.lastActiveAt ?? ''));
      body.replaceChildren(...sessions.map((s) => {
        const open = () => { location.hash = `#/s/${encodeURIComponent(s.id)}`; };
        return h('tr', { className: 'clickable', 'data-session': s.id, onclick: open },
          h('td', { 'data-label': 'Session' }, h('a', { href: `#/s/${encodeURIComponent(s.id)}` }, s.name || s.id)),
          h('td', { 'data-label': 'Status' }, statusBadge(s.status),
            s.pendingApprovals > 0 ? [' ', h('span', { className: 'status needs-approval', title: 'tool calls wait for approval' }, `${s.pendingApprovals} to approve`)] : undefined),
          h('td', { 'data-label': 'User' }, s.user),
          h('td', { 'data-label': 'Directory', className: 'cwd' }, s.cwd),
          h('td', { 'data-label': 'Queue', className: 'num' }, String(s.queued)),
          h('td', { 'data-label': 'Today', className: 'num cost-today' }, money(s.costToday)),
          h('td', { 'data-label': 'Total', className: 'num cost-total' }, money(s.counters?.costUsd)),
          h('td', { 'data-label': 'Last activity', title: when(s.lastActiveAt) }, ago(s.lastActiveAt)));
      }));
      if (sessions.length === 0) body.replaceChildren(h('tr', {}, h('td', { colspan: 8, className: 'muted' }, 'No sessions yet.')));
      problem.replaceChildren();
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  };
  await refresh();
  const timer = setInterval(refresh, 3000);
  return () => clearInterval(timer);
}

// ---- one session

/** The conversation of one session, rebuilt from its events: one block per prompt. */
class Conversation {
  constructor(sessionId, root) {
    this.sessionId = sessionId;
    this.root = root;
    this.turns = new Map();
    this.tools = new Map();
    this.questions = new Map();
    this.approvals = new Map();
  }

  turn(promptId) {
    // An event of no prompt (a stop between turns) belongs to the newest turn.
    if (promptId === undefined && this.last) return this.last;
    let turn = this.turns.get(promptId);
    if (turn) return turn;
    const user = h('div', { className: 'msg user' }, h('span', { className: 'muted' }, '…'));
    const el = h('section', { className: 'turn', 'data-prompt': promptId ?? '' }, user);
    turn = { el, text: undefined, thinking: undefined };
    this.turns.set(promptId, turn);
    this.last = turn;
    this.root.append(el);
    if (promptId) {
      api('GET', `/api/sessions/${encodeURIComponent(this.sessionId)}/prompts/${encodeURIComponent(promptId)}`)
        .then((prompt) => { user.textContent = prompt.text; })
        .catch(() => { user.textContent = '(prompt no longer known)'; });
    }
    return turn;
  }

  add(type, event) {
    const turn = this.turn(event.promptId);
    const stick = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
    if (type === 'text') this.text(turn, event);
    else if (type === 'thinking') this.thinking(turn, event);
    else if (type === 'tool_use') {
      const body = h('pre', {}, h('code', {}, JSON.stringify(event.input, null, 2)));
      const el = h('details', { className: 'tool' }, h('summary', {}, `Tool: ${event.name}`), body);
      this.tools.set(event.toolUseId, el);
      this.close(turn);
      turn.el.append(el);
    } else if (type === 'tool_result') {
      const el = this.tools.get(event.toolUseId);
      const result = h('pre', { className: event.isError ? 'turn-error' : '' }, h('code', {}, event.content));
      if (el) el.append(h('div', { className: 'muted' }, event.isError ? 'error:' : 'result:'), result);
    } else if (type === 'extension' && event.kind === 'question') this.question(turn, event.data);
    else if (type === 'extension' && event.kind === 'question_closed') this.questionClosed(event.data);
    else if (type === 'approval_requested') {
      this.close(turn);
      this.approval(turn.el, event);
    }
    else if (type === 'approval_resolved') this.approvalResolved(event);
    else if (type === 'result') this.result(turn, event.result);
    else if (type === 'error') turn.el.append(h('div', { className: 'turn-error' }, event.message));
    else if (type === 'stop') turn.el.append(h('div', { className: 'muted' }, 'Stopped.'));
    if (stick) window.scrollTo(0, document.body.scrollHeight);
  }

  text(turn, event) {
    if (!turn.text) {
      turn.text = { el: h('div', { className: 'msg assistant streaming' }), source: '' };
      turn.el.append(turn.text.el);
    }
    if (event.partial) turn.text.source += event.text;
    else turn.text.source = event.text;
    turn.text.el.innerHTML = renderMarkdown(turn.text.source); // renderMarkdown escapes everything first
    if (!event.partial) this.close(turn);
  }

  thinking(turn, event) {
    if (!turn.thinking) {
      const body = h('div', { className: 'muted' });
      turn.thinking = { body, source: '' };
      turn.el.append(h('details', { className: 'thinking' }, h('summary', {}, 'Thinking'), body));
    }
    turn.thinking.source = event.partial ? turn.thinking.source + event.text : event.text;
    turn.thinking.body.textContent = turn.thinking.source;
    if (!event.partial) turn.thinking = undefined;
  }

  close(turn) {
    turn.text?.el.classList.remove('streaming');
    turn.text = undefined;
  }

  question(turn, q) {
    if (this.questions.has(q.id)) return;
    const input = h('input', { name: 'answer', placeholder: 'Your answer', required: true });
    const problem = h('div');
    const answer = async (text) => {
      try {
        await api('POST', `/api/questions/${encodeURIComponent(q.id)}/answer`, { text });
        this.questionClosed({ id: q.id, status: 'answered', answer: text });
      } catch (error) {
        problem.replaceChildren(errorBox(error));
      }
    };
    const options = (q.options ?? []).map((option) => h('button', { type: 'button', className: 'secondary', onclick: () => answer(option) }, option));
    const el = h('form', { className: 'question', 'data-question': q.id, onsubmit: (event) => { event.preventDefault(); void answer(input.value); } },
      h('strong', {}, 'Question'), h('div', {}, q.question),
      options.length ? h('div', { className: 'row' }, options) : undefined,
      h('div', { className: 'row' }, input, h('button', { type: 'submit' }, 'Answer')),
      problem);
    this.questions.set(q.id, el);
    this.close(turn);
    turn.el.append(el);
  }

  questionClosed(q) {
    const el = this.questions.get(q.id);
    if (!el || el.classList.contains('closed')) return;
    el.classList.add('closed');
    const state = q.answer !== undefined ? `Answered: ${q.answer}` : `Closed (${q.status ?? 'closed'}${q.reason ? `: ${q.reason}` : ''})`;
    el.replaceChildren(h('strong', {}, 'Question'), h('div', {}, el.children[1]?.textContent ?? ''), h('div', { className: 'muted' }, state));
  }

  /** A tool call waiting for approval, with the buttons that answer it; `within` is where it goes. */
  approval(within, a) {
    const shown = this.approvals.get(a.id);
    if (shown) {
      // Listed before its event was replayed: the event says which turn it belongs to.
      if (shown.parentElement === this.root && within !== this.root) within.append(shown);
      return;
    }
    const message = h('input', { name: 'deny-message', placeholder: 'Message for the model (optional)', 'aria-label': 'message for the model' });
    const problem = h('div');
    const answer = async (body) => {
      try {
        await api('POST', `/api/approvals/${encodeURIComponent(a.id)}`, body);
        // Its approval_resolved event may have come first, and says more (by whom, how).
        if (!this.approvals.get(a.id)?.classList.contains('closed')) this.approvalResolved({ id: a.id, decision: body.decision, by: 'you' });
      } catch (error) {
        problem.replaceChildren(errorBox(error));
      }
    };
    const choice = (label, attrs, body) => h('button', { type: 'button', className: 'secondary', ...attrs, onclick: () => void answer(body) }, label);
    const actions = h('div', { className: 'approval-actions' },
      h('div', { className: 'row' },
        choice('Allow once', { 'data-answer': 'once' }, { decision: 'allow', scope: 'once' }),
        choice('Allow for this session', { 'data-answer': 'session' }, { decision: 'allow', scope: 'session' }),
        a.suggestedPattern ? choice(`Always allow ${a.suggestedPattern}`, { 'data-answer': 'always' }, { decision: 'allow', scope: 'always', pattern: a.suggestedPattern }) : undefined),
      h('div', { className: 'row' }, message,
        h('button', { type: 'button', className: 'secondary danger-text', 'data-answer': 'deny', onclick: () => void answer(message.value.trim() ? { decision: 'deny', message: message.value.trim() } : { decision: 'deny' }) }, 'Deny')),
      problem);
    const state = h('div', { className: 'approval-state muted' }, `Waiting for an answer; denied by itself at ${when(a.expiresAt)}.`);
    const el = h('div', { className: 'approval', 'data-approval': a.id },
      h('strong', {}, `Approval: ${a.tool}`),
      a.summary ? h('div', {}, a.summary) : undefined,
      h('pre', {}, h('code', {}, toolInputText(a.tool, a.input))),
      a.suggestedPattern ? h('div', { className: 'muted' }, '"Always allow" saves the rule ', h('code', {}, a.suggestedPattern), ' for all your sessions.') : undefined,
      actions, state);
    this.approvals.set(a.id, el);
    within.append(el);
  }

  approvalResolved(event) {
    const el = this.approvals.get(event.id);
    if (!el) return;
    el.querySelector('.approval-actions')?.remove();
    el.classList.add('closed');
    el.setAttribute('data-decision', event.decision);
    const outcome = { allow: 'Allowed', deny: 'Denied', expired: 'Expired' }[event.decision] ?? event.decision;
    el.querySelector('.approval-state').textContent = `${outcome}${event.by ? ` by ${event.by}` : ''}${event.reason ? `: ${event.reason}` : ''}`;
  }

  result(turn, result) {
    this.close(turn);
    if (result.outcome === 'cancelled') turn.el.append(h('div', { className: 'muted' }, `Not run: ${result.text || 'withdrawn'}`));
    else if (!turn.el.querySelector('.msg.assistant') && result.text) {
      const el = h('div', { className: 'msg assistant' });
      el.innerHTML = renderMarkdown(result.text); // escaped first
      turn.el.append(el);
    }
    const parts = [result.outcome ?? (result.isError ? 'error' : 'done'), money(result.costUsd), `${((result.durationMs ?? 0) / 1000).toFixed(1)} s`];
    turn.el.append(h('div', { className: `cost${result.isError ? ' turn-error' : ''}`, 'data-outcome': result.outcome ?? '' }, parts.join(' · ')));
  }
}

const EVENT_TYPES = ['queued', 'started', 'text', 'thinking', 'tool_use', 'tool_result', 'result', 'error', 'stop', 'extension', 'compacted', 'tool_call_lost', 'approval_requested', 'approval_resolved'];

/** What a tool call would do, as text: a command as it is, any other input as indented JSON. */
function toolInputText(tool, input) {
  if (input === null || input === undefined) return '(the input is no longer kept)';
  if (tool === 'Bash' && typeof input.command === 'string') return input.command;
  return JSON.stringify(input, null, 2);
}

async function sessionView(id) {
  const session = await api('GET', `/api/sessions/${encodeURIComponent(id)}`);
  const status = h('span', { id: 'session-status' }, statusBadge(session.status));
  const queue = h('span', { className: 'muted', id: 'session-queue' });
  const cost = h('span', { className: 'muted' });
  const showSummary = (s) => {
    status.replaceChildren(statusBadge(s.status));
    queue.textContent = s.queued ? `${s.queued} waiting` : '';
    cost.textContent = `total ${money(s.counters?.costUsd)}`;
  };
  showSummary(session);
  const conversationEl = h('div', { className: 'conversation', id: 'conversation' });
  const conversation = new Conversation(session.id, conversationEl);
  const text = h('textarea', { name: 'prompt', placeholder: 'Write a prompt (Ctrl+Enter sends)' });
  const problem = h('div');
  const send = async () => {
    if (!text.value.trim()) return;
    try {
      await api('POST', `/api/sessions/${encodeURIComponent(session.id)}/prompts`, { text: text.value });
      text.value = '';
      problem.replaceChildren();
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  };
  text.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void send();
  });
  const stop = h('button', { type: 'button', className: 'danger', id: 'stop', onclick: async () => {
    try {
      await api('POST', `/api/sessions/${encodeURIComponent(session.id)}/stop`, {});
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  } }, 'Stop');
  const composer = h('form', { className: 'composer', onsubmit: (event) => { event.preventDefault(); void send(); } },
    text, h('div', { className: 'row' }, h('button', { type: 'submit', id: 'send' }, 'Send'), stop), problem);
  const waitingEl = h('ol', { className: 'waiting', id: 'waiting', hidden: true });
  const showWaiting = (waiting) => {
    waitingEl.hidden = waiting.length === 0;
    waitingEl.replaceChildren(...waiting.map((p) => h('li', { 'data-prompt': p.id },
      h('span', { className: 'preview', title: `queued ${when(p.queuedAt)}` }, p.preview),
      h('button', { type: 'button', className: 'secondary withdraw', onclick: async () => {
        try {
          await api('DELETE', `/api/sessions/${encodeURIComponent(session.id)}/queue/${encodeURIComponent(p.id)}`);
        } catch (error) {
          problem.replaceChildren(errorBox(error));
        }
        void refreshQueue();
      } }, 'Withdraw'))));
  };
  const refreshQueue = () => api('GET', `/api/sessions/${encodeURIComponent(session.id)}/queue`).then((q) => showWaiting(q.waiting), () => {});
  main.replaceChildren(
    h('div', { className: 'session-head' }, h('h1', {}, session.name || session.id), status, queue, cost,
      h('span', { className: 'cwd muted' }, session.cwd), h('span', { className: 'muted' }, session.user)),
    conversationEl, waitingEl, composer);
  void refreshQueue();

  const source = new EventSource(`/api/sessions/${encodeURIComponent(session.id)}/events`);
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message) => conversation.add(type, JSON.parse(message.data)));
  }
  // Pending approvals show even when their events are no longer kept; a replayed event moves one into its turn.
  api('GET', `/api/approvals?session=${encodeURIComponent(session.id)}`).then(
    (pending) => { for (const a of pending) conversation.approval(conversationEl, a); },
    () => {},
  );
  source.addEventListener('gap', () => conversationEl.prepend(h('p', { className: 'muted' }, 'Earlier events are no longer kept.')));
  source.addEventListener('deleted', () => {
    source.close();
    problem.replaceChildren(errorBox('This session was deleted.'));
  });
  const refresh = () => {
    void refreshQueue();
    return api('GET', `/api/sessions/${encodeURIComponent(session.id)}`).then(showSummary, () => {});
  };
  const timer = setInterval(refresh, 2000);
  for (const type of ['queued', 'started', 'result']) source.addEventListener(type, refresh);
  return () => {
    source.close();
    clearInterval(timer);
  };
}

// ---- the daemon: cron, heartbeat, extensions, event log

/** A titled part of a page whose content `loader(reload)` makes; `reload` makes it again (after an action). */
function section(title, loader) {
  const body = h('div', {}, h('p', { className: 'muted' }, 'Loading…'));
  const el = h('section', { 'data-section': title }, h('h2', {}, title), body);
  const load = () => loader(load).then(
    (content) => body.replaceChildren(content),
    (error) => body.replaceChildren(h('p', { className: 'muted' }, error.status === 503 || error.status === 403 ? error.message : `Failed: ${error.message}`)),
  );
  void load();
  return el;
}

function table(headers, rows, attrs = {}) {
  if (rows.length === 0) return h('p', { className: 'muted' }, 'None.');
  return h('table', { className: 'cards', ...attrs },
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', {}, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, i) => h('td', { 'data-label': headers[i] }, cell))))));
}

const short = (value, n = 120) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? '');
  return text.length > n ? `${text.slice(0, n)}…` : text;
};
const epoch = (ms) => (typeof ms === 'number' ? when(new Date(ms).toISOString()) : '—');
const duration = (ms) => (typeof ms === 'number' ? (ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 1000).toFixed(1)} s`) : '—');

/** A button that runs `action`, shows its failure in `problem`, then calls `done`. */
function actionButton(label, attrs, action, problem, done) {
  return h('button', { type: 'button', className: 'secondary', ...attrs, onclick: async (event) => {
    event.currentTarget.disabled = true;
    try {
      await action();
      problem.replaceChildren();
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
    done();
  } }, label);
}

function cronSection() {
  const problem = h('div');
  return section('Cron', async (reload) => {
    const jobs = await api('GET', '/api/cron');
    const job = (id, action) => api('POST', `/api/cron/${encodeURIComponent(id)}/${action}`, {});
    return h('div', {}, problem, table(['Job', 'User', 'Schedule', 'State', 'Next run', 'Last run', 'Recent runs', ''], jobs.map((j) => [
      h('a', { href: `#/cron/${encodeURIComponent(j.id)}`, title: j.prompt }, j.name),
      j.user,
      j.schedule ?? `once at ${when(j.runAt)}`,
      j.done ? 'done' : j.paused ? 'paused' : 'active',
      when(j.nextRunAt),
      j.lastRunAt ? `${when(j.lastRunAt)} · ${j.lastStatus ?? ''}${j.lastCostUsd !== null ? ` · ${money(j.lastCostUsd)}` : ''}${j.lastError ? ` · ${short(j.lastError, 80)}` : ''}` : '—',
      h('div', {}, (j.recent ?? []).slice(0, 5).map((r) => h('div', {}, `${epoch(r.scheduledFor)} ${r.status}`))),
      h('div', { className: 'row actions', 'data-job': j.id },
        j.done ? undefined : j.paused
          ? actionButton('Resume', { 'data-action': 'resume' }, () => job(j.id, 'resume'), problem, reload)
          : actionButton('Pause', { 'data-action': 'pause' }, () => job(j.id, 'pause'), problem, reload),
        actionButton('Run now', { 'data-action': 'run' }, () => job(j.id, 'run'), problem, reload),
        actionButton('Delete', { 'data-action': 'delete', className: 'secondary danger-text' }, async () => {
          if (confirm(`Delete the cron job ${j.name}?`)) await api('DELETE', `/api/cron/${encodeURIComponent(j.id)}`);
        }, problem, reload)),
    ]), { id: 'cron-jobs' }));
  });
}

/** One cron job and its runs, a page at a time (`offset` into the kept runs, newest first). */
async function cronJobView(id) {
  const jobs = await api('GET', '/api/cron');
  const job = jobs.find((j) => j.id === id || j.name === id);
  if (!job) throw new Error(`No cron job ${id}.`);
  const PAGE = 20;
  const runs = h('div');
  const pager = h('div', { className: 'row' });
  const show = async (offset) => {
    const page = await api('GET', `/api/cron/${encodeURIComponent(job.id)}/runs?limit=${PAGE}&offset=${offset}`);
    runs.replaceChildren(table(['Scheduled for', 'Status', 'Started', 'Took', 'Cost', 'Session', 'Detail'], page.runs.map((r) => [
      epoch(r.scheduledFor),
      statusBadge(r.status),
      epoch(r.startedAt),
      duration(r.durationMs),
      typeof r.costUsd === 'number' ? money(r.costUsd) : '—',
      r.sessionId ? h('a', { href: `#/s/${encodeURIComponent(r.sessionId)}` }, r.sessionId) : '—',
      r.detail ? short(r.detail, 200) : '',
    ]), { id: 'cron-runs' }));
    pager.replaceChildren(
      h('button', { type: 'button', className: 'secondary', id: 'runs-newer', disabled: offset === 0, onclick: () => void show(Math.max(0, offset - PAGE)) }, 'Newer'),
      h('span', { className: 'muted' }, page.runs.length ? `runs ${offset + 1}–${offset + page.runs.length}` : ''),
      h('button', { type: 'button', className: 'secondary', id: 'runs-older', disabled: page.next === null, onclick: () => void show(page.next) }, 'Older'));
  };
  main.replaceChildren(
    h('p', {}, h('a', { href: '#/system' }, '← System')),
    h('h1', {}, `Cron job ${job.name}`),
    table(['User', 'Schedule', 'Timezone', 'State', 'Next run', 'Prompt'], [[job.user, job.schedule ?? `once at ${when(job.runAt)}`, job.timezone, job.done ? 'done' : job.paused ? 'paused' : 'active', when(job.nextRunAt), short(job.prompt, 300)]]),
    h('h2', {}, 'Runs'), runs, pager);
  await show(0);
}

function heartbeatSection() {
  const problem = h('div');
  return section('Heartbeat', async (reload) => {
    const state = await api('GET', '/api/heartbeat');
    const paused = state.pausedUntil && state.pausedUntil > Date.now();
    const limits = state.valves?.limits ?? {};
    const blocking = state.valves?.now;
    const minutes = h('input', { type: 'number', name: 'pause-minutes', min: 1, value: 60, className: 'narrow', 'aria-label': 'minutes' });
    const valves = [
      ['min_interval', duration(limits.minIntervalMs), state.lastRunAt ? `last run ${ago(new Date(state.lastRunAt).toISOString())}` : 'no run yet'],
      ['max_runs_per_day', String(limits.maxRunsPerDay ?? '—'), `${state.runsToday} today`],
      ['budget', typeof limits.dailyBudgetUsd === 'number' ? `${money(limits.dailyBudgetUsd)} a day` : '—', `${money(state.costToday)} spent today`],
      ['quiet_hours', limits.quietHours ? `${limits.quietHours.start}–${limits.quietHours.end} (${limits.timezone})` : 'none', ''],
      ['backoff', `${duration(limits.backoffBaseMs)} doubling, at most ${duration(limits.backoffMaxMs)}`, `${state.consecutiveFailures} failed, ${state.consecutiveNoops} idle in a row`],
      ['paused', '', paused ? `until ${epoch(state.pausedUntil)}` : 'no'],
    ];
    const ticks = (state.log ?? []).slice(-15).reverse();
    const call = (action, body) => api('POST', `/api/heartbeat/${action}`, body ?? {});
    return h('div', { id: 'heartbeat' },
      h('p', { id: 'heartbeat-state' }, h('strong', {}, paused ? `Paused until ${epoch(state.pausedUntil)}` : 'Active'),
        ` · a check every ${duration(state.intervalMs)}`,
        blocking && !blocking.ok ? h('span', { className: 'muted' }, ` · now held by ${blocking.valve}: ${blocking.reason}`) : undefined),
      h('div', { className: 'row' },
        paused
          ? actionButton('Resume', { id: 'heartbeat-resume' }, () => call('resume'), problem, reload)
          : [actionButton('Pause', { id: 'heartbeat-pause' }, () => call('pause', { minutes: Number(minutes.value) || 60 }), problem, reload), minutes, h('span', { className: 'muted' }, 'minutes')],
        actionButton('Check now', { id: 'heartbeat-trigger' }, () => call('trigger'), problem, reload)),
      problem,
      h('h3', {}, 'Valves'),
      table(['Valve', 'Limit', 'Now'], valves, { id: 'heartbeat-valves' }),
      h('h3', {}, 'Recent ticks'),
      table(['When', 'Outcome', 'Valve', 'Reason', 'Cost'], ticks.map((t) => [epoch(t.at), t.outcome, t.valve ?? '', t.reason ?? '', t.costUsd !== undefined ? money(t.costUsd) : '']), { id: 'heartbeat-ticks' }));
  });
}

const AUTH = { subscription: 'Subscription', api_key: 'API key (no subscription limits)', unknown: 'Unknown' };

/** A limit window: how much is used, as a bar and a number, and when it resets. */
function usageWindow(label, window) {
  return h('div', { className: 'usage-window', 'data-window': label },
    h('span', {}, label),
    window ? h('meter', { min: 0, max: 100, low: 50, high: 80, optimum: 0, value: window.utilization, 'aria-label': `${label} used` }) : h('span', { className: 'muted' }, '—'),
    h('span', { className: 'num' }, window ? `${Math.round(window.utilization)}%` : ''),
    h('span', { className: 'muted' }, window?.resetsAt ? `resets ${when(window.resetsAt)}` : ''));
}

function usageSection() {
  return section('Usage', async () => {
    const { usage, costs } = await api('GET', '/api/usage?days=14');
    const limited = usage.fiveHour || usage.sevenDay;
    return h('div', { id: 'usage' },
      h('p', { id: 'usage-auth' }, h('strong', {}, AUTH[usage.auth] ?? usage.auth), usage.subscriptionType ? ` (${usage.subscriptionType})` : '',
        h('span', { className: 'muted' }, ` · read ${ago(usage.checkedAt)}`)),
      usage.error ? h('p', { className: 'error' }, usage.error) : undefined,
      limited ? h('div', { className: 'usage-windows' }, usageWindow('5 hours', usage.fiveHour), usageWindow('7 days', usage.sevenDay)) : undefined,
      h('h3', {}, 'Costs per day (UTC)'),
      table(['Day', 'User', 'Prompts', 'Cost'], costs.map((c) => [c.day, c.user, String(c.prompts), money(c.costUsd)]), { id: 'usage-costs' }));
  });
}

function rulesSection() {
  const problem = h('div');
  return section('Approval rules', async (reload) => {
    const rules = await api('GET', '/api/rules');
    return h('div', {}, problem, table(['Pattern', 'User', 'Holds for', 'Created', ''], rules.map((r) => [
      h('code', {}, r.pattern),
      r.user,
      r.sessionId ? h('a', { href: `#/s/${encodeURIComponent(r.sessionId)}` }, `session ${r.sessionId}`) : 'all sessions',
      when(r.createdAt),
      actionButton('Revoke', { 'data-rule': r.id, className: 'secondary danger-text' }, () => api('DELETE', `/api/rules/${encodeURIComponent(r.id)}`), problem, reload),
    ]), { id: 'rules' }));
  });
}

async function systemView() {
  main.replaceChildren(
    h('h1', {}, 'System'),
    section('Extensions', async () => {
      const list = await api('GET', '/api/extensions');
      return table(['Extension', 'State', 'Health', 'Detail'], list.map((e) => [e.name, statusBadge(e.state), statusBadge(e.health.status), short(e.health.detail ?? e.health.reason ?? '')]));
    }),
    usageSection(),
    rulesSection(),
    cronSection(),
    heartbeatSection(),
    h('p', {}, h('a', { href: '#/log' }, 'The event log →')),
  );
}

/** The daemon's event log, filtered by type and session, newest page first; Older and Newer page through it. */
async function logView() {
  const type = h('input', { name: 'type', placeholder: 'type, e.g. cron_result' });
  const sessionInput = h('input', { name: 'session', placeholder: 'session id' });
  const limit = h('select', { name: 'limit', 'aria-label': 'lines per page' }, ['10', '50', '200'].map((n) => h('option', { value: n, selected: n === '50' }, `${n} a page`)));
  const rows = h('div', { id: 'log' });
  const pager = h('div', { className: 'row' });
  const problem = h('div');
  // The `before` of each page shown so far: Newer goes back one.
  const pages = [];
  const show = async (before) => {
    const query = new URLSearchParams({ limit: limit.value });
    if (type.value.trim()) query.set('type', type.value.trim());
    if (sessionInput.value.trim()) query.set('session', sessionInput.value.trim());
    if (before !== undefined) query.set('before', String(before));
    try {
      const page = await api('GET', `/api/events?${query}`);
      problem.replaceChildren();
      rows.replaceChildren(table(['#', 'When', 'Type', 'Detail'], page.events.slice().reverse().map((e) => {
        const { line, ts, type: kind, ...rest } = e;
        return [String(line), when(ts ?? e.time), kind, short(rest, 200)];
      })));
      pager.replaceChildren(
        h('button', { type: 'button', className: 'secondary', id: 'log-newer', disabled: pages.length === 0, onclick: () => void show(pages.pop()) }, 'Newer'),
        h('button', { type: 'button', className: 'secondary', id: 'log-older', disabled: page.next === null, onclick: () => { pages.push(before); void show(page.next); } }, 'Older'));
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  };
  const filters = h('form', { className: 'row', id: 'log-filters', onsubmit: (event) => { event.preventDefault(); pages.length = 0; void show(undefined); } },
    type, sessionInput, limit, h('button', { type: 'submit' }, 'Filter'));
  main.replaceChildren(h('h1', {}, 'Event log'), filters, problem, rows, pager);
  await show(undefined);
}

// ---- routing

async function route() {
  cleanup();
  cleanup = () => {};
  const hash = location.hash || '#/';
  const nav = document.getElementById('nav');
  if (hash === '#/login') {
    nav.hidden = true;
    return loginView();
  }
  try {
    const who = await api('GET', '/api/whoami');
    nav.hidden = false;
    document.getElementById('who').textContent = who.admin ? 'admin' : who.user;
    const session = /^#\/s\/(.+)$/.exec(hash);
    const job = /^#\/cron\/(.+)$/.exec(hash);
    if (session) cleanup = (await sessionView(decodeURIComponent(session[1]))) ?? cleanup;
    else if (job) await cronJobView(decodeURIComponent(job[1]));
    else if (hash === '#/system') await systemView();
    else if (hash === '#/log') await logView();
    else cleanup = (await sessionsView()) ?? cleanup;
  } catch (error) {
    if (error.status !== 401 && error.code !== 'csrf') main.replaceChildren(errorBox(error));
  }
}

document.getElementById('logout').addEventListener('click', async () => {
  await api('POST', '/api/logout', {}).catch(() => {});
  sessionStorage.removeItem(CSRF_KEY);
  location.hash = '#/login';
});
window.addEventListener('hashchange', () => void route());
void route();
