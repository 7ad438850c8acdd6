import type { RpcClient } from '../bridge/rpc-client.ts';
import { RpcConnectionError, RpcError } from '../bridge/rpc-protocol.ts';
import type { EngineEvent } from '../sessions/events.ts';
import type { PromptRecord } from '../sessions/session-types.ts';
import { commonOptions, parse, UsageError } from './arguments.ts';
import { usage, type BuiltinCommand, type BuiltinCommandContext } from './builtin-command.ts';
import type { CliContext } from './cli-context.ts';
import { connectToDaemon, withDaemon } from './daemon-connection.ts';
import { EventPrinter } from './render.ts';
import { DEFAULT_USER } from '../sessions/users.ts';

interface PromptIds {
  sessionId: string;
  promptId: string;
}

export const promptCommand: BuiltinCommand = {
  name: 'prompt',
  usage: usage(
    'prompt [--user U] [--session S | --new [--name N] [--cwd DIR] [--template T]] [--model M] [--json] [--detach] TEXT|-',
    'send a prompt and stream its events (TEXT - reads stdin)',
  ),
  run: runPrompt,
};

export const waitCommand: BuiltinCommand = {
  name: 'wait',
  usage: usage('wait --session S [--prompt P] [--user U] [--json]', "wait for a prompt's result (the newest when no --prompt)"),
  run: runWait,
};

async function runPrompt(ctx: BuiltinCommandContext): Promise<number> {
  const { values, positionals } = parse(
    ctx.args,
    { ...commonOptions, session: { type: 'string' }, new: { type: 'boolean' }, name: { type: 'string' }, cwd: { type: 'string' }, template: { type: 'string' }, model: { type: 'string' }, detach: { type: 'boolean' } },
    true,
  );
  if (positionals.length === 0) throw new UsageError('prompt needs TEXT (or - to read it from stdin)');
  if (values.new && values.session) throw new UsageError('--new and --session exclude each other');
  const text = positionals.length === 1 && positionals[0] === '-' ? await ctx.stdin() : positionals.join(' ');
  if (text.trim().length === 0) throw new UsageError('the prompt is empty');
  const params = {
    user: values.user ?? DEFAULT_USER,
    ...(values.session ? { session: values.session } : {}),
    ...(values.new ? { new: true } : {}),
    ...(values.name ? { name: values.name } : {}),
    ...(values.cwd ? { cwd: values.cwd } : {}),
    ...(values.template ? { template: values.template } : {}),
    ...(values.model ? { model: values.model } : {}),
    text,
  };
  return withDaemon(ctx, values.config, async (client) => {
    if (values.detach) {
      const ids = await client.call<PromptIds & { position: number }>('prompt.submit', params);
      ctx.output.out(`${JSON.stringify(ids)}\n`);
      return 0;
    }
    return followPrompt(ctx, client, params, { configPath: values.config, json: values.json === true });
  });
}

/** Submits a prompt and prints its events until its result, across a restart of the daemon. */
async function followPrompt(
  ctx: CliContext,
  client: RpcClient,
  params: Record<string, unknown>,
  options: { configPath: string | undefined; json: boolean },
): Promise<number> {
  let ids: PromptIds | undefined;
  const printer = new EventPrinter(ctx.output);
  const onProgress = (data: unknown): void => {
    const event = data as EngineEvent | ({ type: 'submitted' } & PromptIds);
    if (event.type === 'submitted') {
      ids = { sessionId: event.sessionId, promptId: event.promptId };
      if (options.json) ctx.output.out(`${JSON.stringify(event)}\n`);
      return;
    }
    if (options.json) ctx.output.out(`${JSON.stringify(event)}\n`);
    else printer.print(event);
  };
  let record: PromptRecord;
  try {
    record = (await client.call<{ prompt: PromptRecord }>('prompt.submit', { ...params, follow: true }, { onProgress })).prompt;
  } catch (error) {
    if (!(error instanceof RpcConnectionError) || !ids) throw error;
    ctx.output.err('claude-ext: lost the daemon; waiting for it to come back…\n');
    record = await waitAcrossRestart(ctx, options.configPath, ids, onProgress);
  }
  return finishPrompt(ctx, record, options.json, printer);
}

/** The daemon went away mid-prompt: reconnect when it is back and wait for the same prompt. */
async function waitAcrossRestart(ctx: CliContext, configPath: string | undefined, ids: PromptIds, onProgress: (data: unknown) => void): Promise<PromptRecord> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      const client = await connectToDaemon(ctx, configPath);
      try {
        const answer = await client.call<{ prompt: PromptRecord }>('prompt.wait', { session: ids.sessionId, prompt: ids.promptId, follow: true }, { onProgress });
        return answer.prompt;
      } finally {
        client.close();
      }
    } catch (error) {
      if (Date.now() > deadline || error instanceof RpcError) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

function finishPrompt(ctx: CliContext, record: PromptRecord, json: boolean, printer: EventPrinter): number {
  const result = record.result;
  if (json) {
    ctx.output.out(`${JSON.stringify({ type: 'result', sessionId: record.sessionId, promptId: record.id, result })}\n`);
  } else if (result) {
    printer.finish(result);
  }
  return result && !result.isError ? 0 : 1;
}

async function runWait(ctx: BuiltinCommandContext): Promise<number> {
  const { values } = parse(ctx.args, { ...commonOptions, session: { type: 'string' }, prompt: { type: 'string' } });
  if (!values.session) throw new UsageError('wait needs --session S');
  const session = values.session;
  return withDaemon(ctx, values.config, async (client) => {
    const answer = await client.call<{ prompt: PromptRecord }>('prompt.wait', {
      session,
      ...(values.user ? { user: values.user } : {}),
      ...(values.prompt ? { prompt: values.prompt } : {}),
    });
    const result = answer.prompt.result;
    if (values.json) ctx.output.out(`${JSON.stringify(answer.prompt)}\n`);
    else if (result) {
      ctx.output.out(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
      new EventPrinter(ctx.output).finish(result);
    }
    return result && !result.isError ? 0 : 1;
  });
}
