/**
 * A stand-in for the Anthropic Messages API on 127.0.0.1, scripted by the prompt.
 *
 * The newest plain user text of a request holds the script, one directive per line:
 *   @reply TEXT         answer with TEXT (`\n` in TEXT becomes a newline)
 *   @tool NAME JSON     call tool NAME with input JSON
 *   @echo               answer with a JSON summary of the conversation's user texts
 *   @echo-tool          answer with the text of the newest tool result
 *   @decide run|skip R  with --json-schema: answer through the StructuredOutput tool with
 *                       {decision, reason: R}; without it the line is ignored
 *   @fail STATUS [MSG]  answer with that HTTP status
 *   @wait MS            modifier: wait MS before the next answer (a stall, if long)
 *   @think TEXT         modifier: a thinking block before the next answer
 *   @chunk N MS         modifier: stream the next text in pieces of N characters, MS apart
 *   @context N          modifier: report N input tokens for the next answer (a context that full)
 * Answers are consumed in order across the turn's round trips (the first request of a turn gets the
 * first answer, the request carrying its tool result gets the second, ...). A prompt without any
 * answer directive is answered with `echo: <prompt>`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: MessagesRequest | undefined;
  readonly receivedAt: number;
}

interface ContentBlock {
  type: string;
  text?: string;
  content?: string | ContentBlock[];
  tool_use_id?: string;
}

interface Message {
  role: 'user' | 'assistant';
  content: string | ContentBlock[];
}

export interface MessagesRequest {
  model: string;
  messages: Message[];
  stream?: boolean;
  tools?: { name: string }[];
  system?: string | ContentBlock[];
  max_tokens?: number;
}

type Answer =
  | { kind: 'reply'; text: string }
  | { kind: 'tool'; name: string; input: unknown }
  | { kind: 'echo' }
  | { kind: 'echo-tool' }
  | { kind: 'fail'; status: number; message: string };

interface ScriptedStep {
  answer: Answer;
  waitMs: number;
  thinking: string | undefined;
  chunk: { size: number; delayMs: number } | undefined;
  inputTokens?: number;
}

export interface FakeAnthropic {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Requests that carried the conversation's tools: the model calls of real turns. */
  conversationRequests(): MessagesRequest[];
  close(): Promise<void>;
}

const TOKENS_PER_REQUEST = { input: 120, output: 30 };

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = [];
  const openSockets = new Set<import('node:net').Socket>();
  let toolUseCounter = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: MessagesRequest | undefined;
      try {
        body = raw ? (JSON.parse(raw) as MessagesRequest) : undefined;
      } catch {
        body = undefined;
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', body, receivedAt: Date.now() });
      if (req.method === 'HEAD' || req.method === 'GET' || !body || !req.url?.startsWith('/v1/messages')) {
        if (req.url?.startsWith('/v1/messages/count_tokens')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ input_tokens: TOKENS_PER_REQUEST.input }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
        return;
      }
      void answer(body, req, res);
    });
  });

  server.on('connection', (socket) => {
    openSockets.add(socket);
    socket.on('close', () => openSockets.delete(socket));
  });

  async function answer(body: MessagesRequest, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const closed = new Promise<void>((resolve) => res.on('close', () => resolve()));
    const { script, stepIndex } = scriptFor(body.messages, (body.tools ?? []).some((t) => t.name === 'StructuredOutput'));
    const step: ScriptedStep = script[stepIndex] ?? {
      answer: script.length === 0 ? { kind: 'reply', text: `echo: ${newestPlainUserText(body.messages)}` } : { kind: 'reply', text: 'done' },
      waitMs: 0,
      thinking: undefined,
      chunk: undefined,
    };
    if (step.waitMs > 0) {
      await Promise.race([sleep(step.waitMs), closed]);
      if (res.destroyed || res.writableEnded) return;
    }
    const a = step.answer;
    if (a.kind === 'fail') {
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: a.message } }));
      return;
    }
    const blocks: ({ type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown } | { type: 'thinking'; thinking: string })[] = [];
    if (step.thinking !== undefined) blocks.push({ type: 'thinking', thinking: step.thinking });
    if (a.kind === 'tool') {
      blocks.push({ type: 'tool_use', id: `toolu_fake_${++toolUseCounter}`, name: a.name, input: a.input });
    } else {
      blocks.push({ type: 'text', text: textOf(a, body.messages) });
    }
    const stopReason = a.kind === 'tool' ? 'tool_use' : 'end_turn';
    if (body.stream === false || body.stream === undefined) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(messageEnvelope(body.model, blocks, stopReason, step.inputTokens)));
      return;
    }
    await streamAnswer(res, body.model, blocks, stopReason, step, closed);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    conversationRequests: () =>
      requests.flatMap((r) => (r.body && Array.isArray(r.body.tools) && r.body.tools.length > 0 ? [r.body] : [])),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of openSockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function messageEnvelope(model: string, content: unknown[], stopReason: string, inputTokens = TOKENS_PER_REQUEST.input): object {
  return {
    id: `msg_fake_${Math.random().toString(36).slice(2)}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: inputTokens, output_tokens: TOKENS_PER_REQUEST.output },
  };
}

async function streamAnswer(
  res: http.ServerResponse,
  model: string,
  blocks: ({ type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: unknown } | { type: 'thinking'; thinking: string })[],
  stopReason: string,
  { chunk, inputTokens = TOKENS_PER_REQUEST.input }: Pick<ScriptedStep, 'chunk' | 'inputTokens'>,
  closed: Promise<void>,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (event: string, data: object): void => {
    if (!res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
  };
  const envelope = messageEnvelope(model, [], '') as Record<string, unknown>;
  send('message_start', { message: { ...envelope, stop_reason: null, usage: { input_tokens: inputTokens, output_tokens: 1 } } });
  let index = 0;
  for (const block of blocks) {
    if (block.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      const pieces = chunk ? splitEvery(block.text, chunk.size) : [block.text];
      for (const [i, piece] of pieces.entries()) {
        if (chunk && i > 0) {
          await Promise.race([sleep(chunk.delayMs), closed]);
          if (res.destroyed) return;
        }
        send('content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
      }
    } else if (block.type === 'thinking') {
      send('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      send('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: block.thinking } });
      send('content_block_delta', { index, delta: { type: 'signature_delta', signature: 'fake-signature' } });
    } else {
      send('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    }
    send('content_block_stop', { index });
    index += 1;
  }
  send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: TOKENS_PER_REQUEST.output } });
  send('message_stop', {});
  res.end();
}

function textOf(answer: Answer, messages: Message[]): string {
  switch (answer.kind) {
    case 'reply':
      return answer.text;
    case 'echo':
      return JSON.stringify({ userTexts: plainUserTexts(messages) });
    case 'echo-tool':
      return newestToolResultText(messages);
    default:
      return '';
  }
}

/** The script of the newest plain user text, and which of its answers this request is for. */
function scriptFor(messages: Message[], structuredOutput: boolean): { script: ScriptedStep[]; stepIndex: number } {
  let anchor = -1;
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const m = messages[i];
    if (m && m.role === 'user' && userTextOf(m) !== undefined) {
      anchor = i;
      break;
    }
  }
  if (anchor < 0) return { script: [], stepIndex: 0 };
  const text = userTextOf(messages[anchor] as Message) ?? '';
  const stepIndex = messages.slice(anchor + 1).filter((m) => m.role === 'assistant').length;
  return { script: parseScript(text, { structuredOutput }), stepIndex };
}

export function parseScript(text: string, options: { structuredOutput?: boolean } = {}): ScriptedStep[] {
  const steps: ScriptedStep[] = [];
  let pending: Omit<ScriptedStep, 'answer'> = { waitMs: 0, thinking: undefined, chunk: undefined };
  const push = (answer: Answer): void => {
    steps.push({ answer, ...pending });
    pending = { waitMs: 0, thinking: undefined, chunk: undefined };
  };
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    const match = /^@([a-z-]+)\s*(.*)$/s.exec(line);
    if (!match) continue;
    const [, directive, rest = ''] = match;
    switch (directive) {
      case 'reply':
        push({ kind: 'reply', text: rest.replace(/\\n/g, '\n') });
        break;
      case 'tool': {
        const space = rest.indexOf(' ');
        const name = space < 0 ? rest : rest.slice(0, space);
        const json = space < 0 ? '{}' : rest.slice(space + 1);
        push({ kind: 'tool', name, input: JSON.parse(json) as unknown });
        break;
      }
      case 'decide': {
        // Only where the CLI asked for structured output (--json-schema); other requests ignore it.
        if (!options.structuredOutput) break;
        const [decision = 'skip', ...reason] = rest.split(' ');
        push({ kind: 'tool', name: 'StructuredOutput', input: { decision, reason: reason.join(' ') || 'scripted' } });
        break;
      }
      case 'echo':
        push({ kind: 'echo' });
        break;
      case 'echo-tool':
        push({ kind: 'echo-tool' });
        break;
      case 'fail': {
        const [status = '500', ...message] = rest.split(' ');
        push({ kind: 'fail', status: Number(status), message: message.join(' ') || 'scripted failure' });
        break;
      }
      case 'wait':
        pending.waitMs = Number(rest);
        break;
      case 'think':
        pending.thinking = rest;
        break;
      case 'context':
        pending.inputTokens = Number(rest);
        break;
      case 'chunk': {
        const [size = '1', delay = '0'] = rest.split(' ');
        pending.chunk = { size: Number(size), delayMs: Number(delay) };
        break;
      }
      default:
        break;
    }
  }
  return steps;
}

/**
 * The user's own texts in a message: not tool results, system reminders or interrupt markers. The CLI
 * merges consecutive user turns into one message, so each text block counts on its own.
 */
function userTextsOf(message: Message): string[] {
  const blocks = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
  return blocks.flatMap((b) =>
    b.type === 'text' && typeof b.text === 'string' && !isReminder(b.text) && !b.text.startsWith('[Request interrupted')
      ? [b.text.replace(/\n$/, '')]
      : [],
  );
}

/** The newest user text of a message: the one that scripts the answer. */
function userTextOf(message: Message): string | undefined {
  return userTextsOf(message).at(-1);
}

function isReminder(text: string): boolean {
  return text.trimStart().startsWith('<system-reminder>');
}

function plainUserTexts(messages: Message[]): string[] {
  return messages.flatMap((m) => (m.role === 'user' ? userTextsOf(m) : []));
}

function newestPlainUserText(messages: Message[]): string {
  return plainUserTexts(messages).at(-1) ?? '';
}

function newestToolResultText(messages: Message[]): string {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const m = messages[i];
    if (!m || m.role !== 'user' || typeof m.content === 'string') continue;
    for (const block of m.content) {
      if (block.type !== 'tool_result') continue;
      if (typeof block.content === 'string') return block.content;
      return (block.content ?? []).map((b) => b.text ?? '').join('');
    }
  }
  return '';
}

function splitEvery(text: string, size: number): string[] {
  const chars = Array.from(text);
  const pieces: string[] = [];
  for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
  return pieces.length > 0 ? pieces : [''];
}

/** A wait that never keeps the process alive on its own (a test may end during a scripted stall). */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
