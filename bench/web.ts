/**
 * (k) The web extension's event stream. First, latency: a prompt submitted over HTTP to its first
 * event received over Server-Sent Events (its `queued` event) and to its first streamed text. Then
 * fan-out: 100 subscribers on one session whose reply streams in many small pieces
 * (`engine.partial_messages: true`, `@chunk`), with the events delivered per second to all of them
 * together and the daemon's CPU time meanwhile (from /proc).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createWorld, waitFor } from '../test/support/harness.ts';
import { readEventLog, startDaemonProcess, writeConfig } from '../test/support/daemon-process.ts';

const SAMPLES = Number(process.env.BENCH_WEB_SAMPLES ?? 40);
const SUBSCRIBERS = Number(process.env.BENCH_WEB_SUBSCRIBERS ?? 100);
/** The busy session's reply: this many characters, streamed this many at a time, this many ms apart. */
const REPLY_CHARS = 8000;
const CHUNK_CHARS = 8;
const CHUNK_MS = 4;
/** USER_HZ, which Linux fixes at 100 for /proc. */
const CLOCK_TICKS_PER_SECOND = 100;

interface SseMessage {
  readonly id: number;
  readonly event: string;
  readonly data: string;
}

/** An open event stream: each message as it arrives, and a way to close it. */
interface Subscription {
  readonly done: Promise<void>;
  close(): void;
}

export async function webBench(): Promise<void> {
  const world = await createWorld('bench-web');
  const config = writeConfig(
    world,
    'engine:\n  partial_messages: true\nenabled: [web]\nextensions:\n  web:\n    listen: 127.0.0.1:0\n    rate_limit: 100000\n    events_per_session: 100000\n',
  );
  const daemon = await startDaemonProcess(world, ['--config', config]);
  try {
    const base = String((await waitFor('the API to listen', () => readEventLog(world).find((e) => e.type === 'web_listening'))).address);
    const token = fs.readFileSync(path.join(world.stateDir, 'admin.token'), 'utf8').trim();
    const api = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${base}${url}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      if (response.status >= 300) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    };
    const subscribe = (sessionId: string, afterId: number | undefined, onMessage: (message: SseMessage) => void): Subscription => {
      const controller = new AbortController();
      const done = (async () => {
        const response = await fetch(`${base}/api/sessions/${sessionId}/events${afterId !== undefined ? `?lastEventId=${afterId}` : ''}`, {
          headers: { authorization: `Bearer ${token}` },
          signal: controller.signal,
        });
        const decoder = new TextDecoder();
        let buffered = '';
        try {
          for await (const chunk of response.body!) {
            buffered += decoder.decode(chunk as Uint8Array, { stream: true });
            let end: number;
            while ((end = buffered.indexOf('\n\n')) >= 0) {
              const message = parseMessage(buffered.slice(0, end));
              buffered = buffered.slice(end + 2);
              if (message) onMessage(message);
            }
          }
        } catch (error) {
          if (!controller.signal.aborted) throw error;
        }
      })();
      return { done, close: () => controller.abort() };
    };

    const session = await api<{ id: string }>('POST', '/api/sessions', { name: 'bench-web' });
    await api('POST', `/api/sessions/${session.id}/prompts`, { text: '@reply warm', wait: true });
    let lastId = 0;
    const warmup = subscribe(session.id, undefined, (m) => (lastId = Math.max(lastId, m.id)));
    await waitFor('the kept events', () => lastId > 0);
    warmup.close();

    const toFirstEvent: number[] = [];
    const toFirstText: number[] = [];
    for (let sample = 0; sample < SAMPLES; sample += 1) {
      let sent = 0;
      let firstEvent: number | undefined;
      let firstText: number | undefined;
      let finished = false;
      const stream = subscribe(session.id, lastId, (m) => {
        lastId = Math.max(lastId, m.id);
        if (sent === 0) return;
        firstEvent ??= performance.now();
        if (m.event === 'text') firstText ??= performance.now();
        if (m.event === 'result') finished = true;
      });
      // The stream is open once the server has sent its first bytes; a prompt now is seen from its first event.
      await new Promise((resolve) => setTimeout(resolve, 50));
      sent = performance.now();
      await api('POST', `/api/sessions/${session.id}/prompts`, { text: `@reply sample ${sample}` });
      await waitFor('the result over the stream', () => finished, 60_000);
      stream.close();
      toFirstEvent.push(firstEvent! - sent);
      toFirstText.push(firstText! - sent);
    }
    console.log(`(k) web: submit over HTTP -> first event over SSE   p50 ${percentile(toFirstEvent, 50).toFixed(1)} ms   p99 ${percentile(toFirstEvent, 99).toFixed(1)} ms   (${SAMPLES} prompts)`);
    console.log(`    web: submit over HTTP -> first text over SSE    p50 ${percentile(toFirstText, 50).toFixed(0)} ms   p99 ${percentile(toFirstText, 99).toFixed(0)} ms   (the model's answer included)`);

    const busy = await api<{ id: string }>('POST', '/api/sessions', { name: 'bench-web-busy' });
    await api('POST', `/api/sessions/${busy.id}/prompts`, { text: '@reply warm', wait: true });
    let busyLast = 0;
    const probe = subscribe(busy.id, undefined, (m) => (busyLast = Math.max(busyLast, m.id)));
    await waitFor('the kept events', () => busyLast > 0);
    probe.close();
    let delivered = 0;
    let firstAt = 0;
    let lastAt = 0;
    let results = 0;
    const subscriptions = Array.from({ length: SUBSCRIBERS }, () =>
      subscribe(busy.id, busyLast, (m) => {
        delivered += 1;
        lastAt = performance.now();
        firstAt ||= lastAt;
        if (m.event === 'result') results += 1;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const cpuBefore = cpuSeconds(daemon.child.pid!);
    const text = 'lorem ipsum dolor sit amet, '.repeat(Math.ceil(REPLY_CHARS / 28)).slice(0, REPLY_CHARS);
    await api('POST', `/api/sessions/${busy.id}/prompts`, { text: `@chunk ${CHUNK_CHARS} ${CHUNK_MS}\n@reply ${text}` });
    await waitFor('every subscriber to get the result', () => results >= SUBSCRIBERS, 300_000);
    const cpu = cpuSeconds(daemon.child.pid!) - cpuBefore;
    for (const s of subscriptions) s.close();
    await Promise.allSettled(subscriptions.map((s) => s.done));
    const seconds = (lastAt - firstAt) / 1000;
    console.log(
      `    web: ${SUBSCRIBERS} SSE subscribers on one busy session: ${delivered} events in ${seconds.toFixed(1)} s, ${(delivered / seconds).toFixed(0)} events/s delivered in total ` +
        `(${(delivered / SUBSCRIBERS).toFixed(0)} each); daemon CPU ${cpu.toFixed(2)} s (${((cpu / seconds) * 100).toFixed(0)}% of one core, ${((cpu / delivered) * 1e6).toFixed(0)} µs per delivered event)`,
    );
  } finally {
    await daemon.stop();
    await world.cleanup();
  }
}

function parseMessage(block: string): SseMessage | undefined {
  let id: number | undefined;
  let event = 'message';
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('id: ')) id = Number(line.slice(4));
    else if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data = line.slice(6);
  }
  return id === undefined ? undefined : { id, event, data };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** User and system time of a process so far, from /proc (Linux; NaN elsewhere). */
function cpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}
