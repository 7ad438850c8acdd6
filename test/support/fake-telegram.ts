/**
 * A stand-in for the Telegram Bot API on 127.0.0.1, for end-to-end tests of the telegram extension.
 *
 * Requests are `POST|GET /bot<token>/<method>` with JSON, form-urlencoded or multipart bodies (and
 * query parameters); files are served at `/file/bot<token>/<file_path>`. A test plays the users:
 * `injectMessage` and `injectCallbackQuery` queue updates that the bot receives through long polling,
 * and `messages(chatId)` shows the chat as the bot left it. Every call is recorded in `calls`;
 * `failNext` makes the next call of a method fail the way Telegram fails (429 with retry_after, ...);
 * `holdAnswers` carries out calls but never answers them, as when the bot dies waiting for the answer.
 *
 * Validated as Telegram does, where tests depend on it: HTML parse_mode (supported tags, balanced,
 * known entities, see parseTelegramHtml), text of at most 4096 and captions of at most 1024 UTF-16
 * code units after parsing, "message is not modified" on an edit that changes nothing, unknown
 * messages, callback queries and files. Markdown parse modes are accepted but not parsed.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { CallbackQuery, Message, Update } from 'grammy/types';

// ---------------------------------------------------------------------------------------------
// Telegram's HTML, as the Bot API parses it

/** A message entity as the Bot API returns it (offsets and lengths in UTF-16 code units). */
export interface TelegramEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
  unix_time?: number;
  date_time_format?: string;
}

export type ParsedHtml =
  | { readonly ok: true; readonly text: string; readonly entities: TelegramEntity[] }
  | { readonly ok: false; readonly error: string };

const TAG_ENTITY: Record<string, string> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  span: 'spoiler',
  'tg-spoiler': 'spoiler',
  a: 'text_link',
  code: 'code',
  pre: 'pre',
  blockquote: 'blockquote',
  'tg-emoji': 'custom_emoji',
  'tg-time': 'date_time',
};

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

interface OpenElement {
  readonly name: string;
  readonly offset: number;
  readonly attributes: ReadonlyMap<string, string>;
  language: string | undefined;
}

/**
 * Parses text in Telegram's HTML style into the visible text and its entities, or the error the Bot
 * API gives (after "Bad Request: "). Stricter than Telegram in one way: a `&` that starts no
 * supported entity is an error here (the documentation requires `&amp;`), so escaping bugs show up.
 */
export function parseTelegramHtml(html: string): ParsedHtml {
  let text = '';
  const entities: TelegramEntity[] = [];
  const stack: OpenElement[] = [];
  const fail = (detail: string): ParsedHtml => ({ ok: false, error: `can't parse entities: ${detail}` });
  const at = (index: number): string => `at byte offset ${Buffer.byteLength(html.slice(0, index))}`;

  let i = 0;
  while (i < html.length) {
    const c = html[i];
    if (c === '<' && html[i + 1] === '/') {
      const end = /<\/([a-zA-Z0-9-]*)\s*>/y;
      end.lastIndex = i;
      const m = end.exec(html);
      if (!m) return fail(`Unclosed end tag ${at(i)}`);
      const name = (m[1] ?? '').toLowerCase();
      const open = stack.pop();
      if (!open) return fail(`Unexpected end tag ${at(i)}`);
      if (open.name !== name) return fail(`Unmatched end tag ${at(i)}, expected "</${open.name}>", found "</${name}>"`);
      const entity = entityFor(open, text.length, stack[stack.length - 1]);
      if (entity) entities.push(entity);
      i += m[0].length;
      continue;
    }
    if (c === '<') {
      const start = i;
      const nameMatch = /[a-zA-Z0-9-]*/y;
      nameMatch.lastIndex = i + 1;
      const name = (nameMatch.exec(html)?.[0] ?? '').toLowerCase();
      if (!(name in TAG_ENTITY)) return fail(`Unsupported start tag "${name}" ${at(start)}`);
      let j = i + 1 + name.length;
      const attributes = new Map<string, string>();
      for (;;) {
        while (j < html.length && /\s/.test(html[j] ?? '')) j++;
        if (j >= html.length) return fail(`Unclosed start tag ${at(start)}`);
        if (html[j] === '>') {
          j++;
          break;
        }
        const attributeName = /[a-zA-Z0-9_-]+/y;
        attributeName.lastIndex = j;
        const attribute = attributeName.exec(html)?.[0];
        if (!attribute) return fail(`Empty attribute name in the tag "${name}" ${at(start)}`);
        j += attribute.length;
        while (j < html.length && /\s/.test(html[j] ?? '')) j++;
        let value = '';
        if (html[j] === '=') {
          j++;
          while (j < html.length && /\s/.test(html[j] ?? '')) j++;
          const quote = html[j];
          if (quote === '"' || quote === "'") {
            const close = html.indexOf(quote, j + 1);
            if (close < 0) return fail(`Unclosed start tag ${at(start)}`);
            value = html.slice(j + 1, close);
            j = close + 1;
          } else {
            const unquoted = /[^\s>]+/y;
            unquoted.lastIndex = j;
            value = unquoted.exec(html)?.[0] ?? '';
            j += value.length;
          }
          const decoded = decodeEntities(value);
          if (decoded === undefined) return fail(`Unsupported HTML entity in an attribute of the tag "${name}" ${at(start)}`);
          value = decoded;
        }
        attributes.set(attribute.toLowerCase(), value);
      }
      if (name === 'span' && attributes.get('class') !== 'tg-spoiler') return fail(`Tag "span" must have class "tg-spoiler" ${at(start)}`);
      if (name === 'tg-emoji' && !/^\d+$/.test(attributes.get('emoji-id') ?? '')) return fail(`Custom emoji entity must contain a valid custom emoji identifier ${at(start)}`);
      if (name === 'tg-time' && !/^\d+$/.test(attributes.get('unix') ?? '')) return fail(`Date-time entity must contain a valid Unix time ${at(start)}`);
      stack.push({ name, offset: text.length, attributes, language: undefined });
      i = j;
      continue;
    }
    if (c === '&') {
      const entity = /&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);/y;
      entity.lastIndex = i;
      const m = entity.exec(html);
      const decoded = m ? decodeEntity(m[1] ?? '') : undefined;
      if (!m) return fail(`Character "&" must be escaped as "&amp;" ${at(i)}`);
      if (decoded === undefined) return fail(`Unsupported HTML entity "${m[0]}" ${at(i)}`);
      text += decoded;
      i += m[0].length;
      continue;
    }
    text += c;
    i++;
  }
  const unclosed = stack[stack.length - 1];
  if (unclosed) return fail(`Can't find end tag corresponding to start tag "${unclosed.name}"`);
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { ok: true, text, entities };
}

function decodeEntity(body: string): string | undefined {
  if (body.startsWith('#')) {
    const hex = body[1] === 'x' || body[1] === 'X';
    const point = parseInt(body.slice(hex ? 2 : 1), hex ? 16 : 10);
    if (!(point > 0 && point <= 0x10ffff) || (point >= 0xd800 && point <= 0xdfff)) return undefined;
    return String.fromCodePoint(point);
  }
  return NAMED_ENTITIES[body];
}

function decodeEntities(value: string): string | undefined {
  let failed = false;
  const decoded = value.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);/g, (all, body: string) => {
    const char = decodeEntity(body);
    if (char === undefined) failed = true;
    return char ?? all;
  });
  return failed ? undefined : decoded;
}

function entityFor(open: OpenElement, end: number, parent: OpenElement | undefined): TelegramEntity | undefined {
  const type = TAG_ENTITY[open.name] ?? 'bold';
  const offset = open.offset;
  const length = end - offset;
  if (open.name === 'code' && parent?.name === 'pre') {
    // <pre><code class="language-x"> gives the pre its language; the code is no entity of its own.
    const language = /^language-(.+)$/.exec(open.attributes.get('class') ?? '')?.[1];
    if (language) parent.language = language;
    return undefined;
  }
  if (length === 0) return undefined;
  switch (type) {
    case 'pre':
      return open.language ? { type, offset, length, language: open.language } : { type, offset, length };
    case 'text_link': {
      const url = open.attributes.get('href') ?? '';
      return url === '' ? undefined : { type, offset, length, url };
    }
    case 'blockquote':
      return { type: open.attributes.has('expandable') ? 'expandable_blockquote' : type, offset, length };
    case 'custom_emoji':
      return { type, offset, length, custom_emoji_id: open.attributes.get('emoji-id') ?? '' };
    case 'date_time': {
      const format = open.attributes.get('format');
      return { type, offset, length, unix_time: Number(open.attributes.get('unix')), ...(format ? { date_time_format: format } : {}) };
    }
    default:
      return { type, offset, length };
  }
}

/** Telegram strips leading and trailing whitespace from a message; entities move with the text. */
function trimContent(text: string, entities: readonly TelegramEntity[]): { text: string; entities: TelegramEntity[] } {
  const lead = (/^\s*/.exec(text)?.[0] ?? '').length;
  const trimmed = text.slice(lead).trimEnd();
  const moved: TelegramEntity[] = [];
  for (const entity of entities) {
    const start = Math.max(0, entity.offset - lead);
    const end = Math.min(trimmed.length, entity.offset + entity.length - lead);
    if (end > start) moved.push({ ...entity, offset: start, length: end - start });
  }
  return { text: trimmed, entities: moved };
}

// ---------------------------------------------------------------------------------------------
// The public shape of the fake

export interface FakeTelegramOptions {
  readonly token: string;
  /** The bot's username in getMe (default "fake_claude_bot"). */
  readonly username?: string;
  readonly firstName?: string;
}

export interface RecordedCall {
  readonly method: string;
  /** The parameters after decoding: numbers and JSON fields parsed, uploads as UploadedFile. */
  readonly params: Record<string, unknown>;
  readonly at: number;
  /** What the fake answered, once it has (a long poll is recorded before it is answered). */
  response?: { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly errorCode: number; readonly description: string };
}

export interface UploadedFile {
  readonly kind: 'upload';
  readonly fileName: string;
  readonly contentType: string;
  readonly bytes: Buffer;
}

export interface FakeFile {
  readonly fileId: string;
  readonly fileUniqueId: string;
  readonly filePath: string;
  readonly bytes: Buffer;
  readonly fileName: string | undefined;
  readonly mimeType: string | undefined;
}

/** A user as a test describes one; Telegram's own field names. */
export interface FakeUserInput {
  readonly id: number;
  readonly first_name?: string;
  readonly last_name?: string;
  readonly username?: string;
  readonly language_code?: string;
}

export interface InjectMessageInput {
  readonly from: FakeUserInput;
  /** Default: the user's private chat (the user's id). Negative ids are groups. */
  readonly chatId?: number;
  /** The text, or the caption when a photo or document is attached. */
  readonly text?: string;
  readonly replyToMessageId?: number;
  readonly photo?: { readonly bytes: Uint8Array | string; readonly width?: number; readonly height?: number };
  readonly document?: { readonly bytes: Uint8Array | string; readonly fileName: string; readonly mimeType?: string };
}

export interface InjectCallbackQueryInput {
  readonly from: FakeUserInput;
  readonly chatId?: number;
  /** The bot message whose inline button was pressed. */
  readonly messageId: number;
  readonly data: string;
}

export interface FailureSpec {
  readonly errorCode: number;
  /** Default: what Telegram says for that code ("Too Many Requests: retry after N" for 429). */
  readonly description?: string;
  /** Sent as parameters.retry_after (for 429 it defaults to 1). */
  readonly retryAfter?: number;
  /** How many calls in a row fail (default 1). */
  readonly times?: number;
}

/** A message in a chat, as the chat shows it now. */
export interface FakeChatMessage {
  readonly messageId: number;
  readonly chatId: number | string;
  readonly sender: 'bot' | 'user';
  readonly kind: 'text' | 'photo' | 'document';
  readonly date: number;
  /** The text, or the caption, as the chat shows it: markup parsed, whitespace trimmed. */
  readonly text: string;
  /** The text or caption as it was sent, markup and all. */
  readonly sentText: string;
  readonly parseMode: string | undefined;
  readonly entities: readonly TelegramEntity[];
  /** The inline keyboard, or undefined when there is none. */
  readonly replyMarkup: unknown;
  readonly replyToMessageId: number | undefined;
  readonly file: FakeFile | undefined;
  readonly editCount: number;
  readonly deleted: boolean;
}

export interface FakeTelegram {
  /** For grammY's `client.apiRoot`, e.g. http://127.0.0.1:PORT. */
  readonly apiRoot: string;
  readonly token: string;
  /** The bot as getMe describes it. */
  readonly botUser: { readonly id: number; readonly username: string; readonly first_name: string };
  readonly calls: RecordedCall[];
  injectUpdate(update: Omit<Update, 'update_id'> & { update_id?: number }): Update;
  injectMessage(input: InjectMessageInput): Message;
  /** Returns the callback query's id. */
  injectCallbackQuery(input: InjectCallbackQueryInput): string;
  failNext(method: string, failure: FailureSpec): void;
  /** Calls that match are carried out, and never answered; undefined answers every call again. */
  holdAnswers(predicate: ((call: RecordedCall) => boolean) | undefined): void;
  /** The chat's messages, oldest first, deleted ones only when asked for. */
  messages(chatId: number | string, options?: { includeDeleted?: boolean }): FakeChatMessage[];
  /** A file the bot sent or a user attached, by file_id. */
  file(fileId: string): FakeFile | undefined;
  /** The first call (already made or still to come) that matches. */
  waitForCall(predicate: (call: RecordedCall, index: number) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Errors and parameters

class ApiError extends Error {
  constructor(
    readonly errorCode: number,
    readonly description: string,
    readonly parameters?: { retry_after?: number },
  ) {
    super(description);
  }
}

const badRequest = (detail: string): ApiError => new ApiError(400, `Bad Request: ${detail}`);

const JSON_FIELDS = new Set([
  'reply_markup',
  'allowed_updates',
  'entities',
  'caption_entities',
  'commands',
  'scope',
  'reply_parameters',
  'link_preview_options',
  'media',
]);
const INTEGER_FIELDS = new Set(['chat_id', 'message_id', 'offset', 'limit', 'timeout', 'reply_to_message_id', 'message_thread_id', 'cache_time', 'max_connections']);
const BOOLEAN_FIELDS = new Set([
  'disable_notification',
  'protect_content',
  'disable_web_page_preview',
  'allow_sending_without_reply',
  'show_alert',
  'drop_pending_updates',
  'disable_content_type_detection',
]);

/** Form and query values arrive as strings; Telegram reads them by the field's type. */
function coerceParams(raw: Record<string, unknown>, files: ReadonlyMap<string, UploadedFile>): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    let v = value;
    if (typeof v === 'string') {
      if (v.startsWith('attach://') && files.has(v.slice('attach://'.length))) v = files.get(v.slice('attach://'.length));
      else if (JSON_FIELDS.has(key)) {
        try {
          v = JSON.parse(v) as unknown;
        } catch {
          throw badRequest(key === 'reply_markup' ? "can't parse reply keyboard markup JSON object" : `can't parse ${key} JSON object`);
        }
      } else if (INTEGER_FIELDS.has(key) && /^-?\d+$/.test(v)) v = Number(v);
      else if (BOOLEAN_FIELDS.has(key) && (v === 'true' || v === 'false')) v = v === 'true';
    }
    params[key] = v;
  }
  for (const [name, file] of files) if (!(name in params) && ['document', 'photo'].includes(name)) params[name] = file;
  return params;
}

class Params {
  constructor(readonly values: Record<string, unknown>) {}

  chatId(): number | string {
    const v = this.values.chat_id;
    if (typeof v === 'number' || (typeof v === 'string' && v !== '')) return v;
    throw badRequest('chat_id is empty');
  }

  int(name: string): number | undefined {
    const v = this.values[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    throw badRequest(`field "${name}" must be of type Integer`);
  }

  string(name: string): string | undefined {
    const v = this.values[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    throw badRequest(`field "${name}" must be of type String`);
  }

  bool(name: string): boolean {
    return this.values[name] === true;
  }

  messageId(): number {
    const id = this.int('message_id');
    if (id === undefined) throw badRequest('message identifier is not specified');
    return id;
  }
}

// ---------------------------------------------------------------------------------------------
// Request bodies

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseMultipart(body: Buffer, boundary: string): { fields: Record<string, string>; files: Map<string, UploadedFile> } {
  const fields: Record<string, string> = {};
  const files = new Map<string, UploadedFile>();
  const delimiter = Buffer.from(`--${boundary}`);
  let position = body.indexOf(delimiter);
  while (position >= 0) {
    let start = position + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // the closing delimiter
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    let end = next;
    if (body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
    const part = body.subarray(start, end);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const content = part.subarray(headerEnd + 4);
      const disposition = /content-disposition\s*:([^\r\n]*)/i.exec(headers)?.[1] ?? '';
      const nameMatch = /(?:^|;)\s*name\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(disposition);
      const name = nameMatch?.[1] ?? nameMatch?.[2];
      const fileNameMatch = /(?:^|;)\s*filename\s*=\s*(?:"([^"]*)"|([^;\r\n]+))/i.exec(disposition);
      const fileName = fileNameMatch?.[1] ?? fileNameMatch?.[2]?.trim();
      if (name !== undefined && fileName !== undefined) {
        const contentType = /content-type\s*:\s*([^\r\n;]+)/i.exec(headers)?.[1]?.trim() ?? 'application/octet-stream';
        files.set(name, { kind: 'upload', fileName, contentType, bytes: Buffer.from(content) });
      } else if (name !== undefined) {
        fields[name] = content.toString('utf8');
      }
    }
    position = next;
  }
  return { fields, files };
}

async function readParams(req: http.IncomingMessage, url: URL): Promise<Record<string, unknown>> {
  const raw: Record<string, unknown> = Object.fromEntries(url.searchParams);
  let files = new Map<string, UploadedFile>();
  const body = await readBody(req);
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (body.length > 0) {
    if (type.startsWith('application/json')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        throw badRequest("can't parse JSON encoded request parameters");
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('JSON object expected');
      Object.assign(raw, parsed);
    } else if (type.startsWith('multipart/form-data')) {
      const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(req.headers['content-type'] ?? '');
      const parsed = parseMultipart(body, boundary?.[1] ?? boundary?.[2] ?? '');
      Object.assign(raw, parsed.fields);
      files = parsed.files;
    } else {
      Object.assign(raw, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    }
  }
  return coerceParams(raw, files);
}

// ---------------------------------------------------------------------------------------------
// The server

interface StoredMessage {
  messageId: number;
  chatId: number | string;
  sender: 'bot' | 'user';
  kind: 'text' | 'photo' | 'document';
  from: Record<string, unknown>;
  date: number;
  editDate: number | undefined;
  text: string;
  sentText: string;
  parseMode: string | undefined;
  entities: TelegramEntity[];
  replyMarkup: unknown;
  replyToMessageId: number | undefined;
  file: FakeFile | undefined;
  photoSize: { width: number; height: number } | undefined;
  editCount: number;
  deleted: boolean;
}

interface Poll {
  readonly limit: number;
  readonly finish: (result: unknown, error?: ApiError) => void;
}

const TEXT_LIMIT = 4096;
const CAPTION_LIMIT = 1024;
const DEFAULT_EXCLUDED_UPDATES = new Set(['chat_member', 'message_reaction', 'message_reaction_count']);
const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);
const NOT_MODIFIED =
  'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message';

type Handler = (p: Params) => unknown;

export async function startFakeTelegram(options: FakeTelegramOptions): Promise<FakeTelegram> {
  const token = options.token;
  const botId = Number(/^(\d+):/.exec(token)?.[1] ?? 1);
  const botUser = { id: botId, is_bot: true, first_name: options.firstName ?? 'Fake Claude', username: options.username ?? 'fake_claude_bot' };

  const calls: RecordedCall[] = [];
  const waiters = new Set<() => void>();
  const failures = new Map<string, { spec: FailureSpec; left: number }>();
  let held: ((call: RecordedCall) => boolean) | undefined;
  let pendingUpdates: Update[] = [];
  let nextUpdateId = 10_000;
  let nextMessageId = 1;
  let nextFileId = 1;
  let nextQueryId = 1;
  let poll: Poll | undefined;
  let allowedUpdates: ReadonlySet<string> | undefined;
  let webhookUrl = '';
  let commands: unknown[] = [];
  const chats = new Map<string, Record<string, unknown>>();
  const chatMessages = new Map<string, StoredMessage[]>();
  const users = new Map<number, Record<string, unknown>>();
  const files = new Map<string, FakeFile>();
  const filesByPath = new Map<string, FakeFile>();
  const callbackQueries = new Map<string, { answered: boolean }>();
  const sockets = new Set<Socket>();

  const now = (): number => Math.floor(Date.now() / 1000);
  const notify = (): void => {
    for (const waiter of [...waiters]) waiter();
  };

  // --- chats, users, files, messages

  const userObject = (input: FakeUserInput): Record<string, unknown> => {
    const user: Record<string, unknown> = { id: input.id, is_bot: false, first_name: input.first_name ?? `User ${input.id}` };
    if (input.last_name !== undefined) user.last_name = input.last_name;
    if (input.username !== undefined) user.username = input.username;
    if (input.language_code !== undefined) user.language_code = input.language_code;
    users.set(input.id, user);
    return user;
  };

  const chatObject = (chatId: number | string, user?: Record<string, unknown>): Record<string, unknown> => {
    const key = String(chatId);
    const known = chats.get(key);
    if (known) return known;
    let chat: Record<string, unknown>;
    if (typeof chatId === 'number' && chatId > 0) {
      const u = user ?? users.get(chatId);
      chat = { id: chatId, type: 'private', first_name: u?.first_name ?? `User ${chatId}` };
      if (u?.username !== undefined) chat.username = u.username;
    } else if (typeof chatId === 'number') {
      chat = { id: chatId, type: 'supergroup', title: `Group ${chatId}` };
    } else {
      chat = { id: -1_000_000_000_000 - chats.size, type: 'channel', title: chatId, username: chatId.replace(/^@/, '') };
    }
    chats.set(key, chat);
    return chat;
  };

  const registerFile = (bytes: Buffer, kind: 'photos' | 'documents', fileName: string | undefined, mimeType: string | undefined): FakeFile => {
    const n = nextFileId++;
    const extension = fileName && /\.[\w]+$/.test(fileName) ? (/\.[\w]+$/.exec(fileName)?.[0] ?? '') : kind === 'photos' ? '.jpg' : '';
    const file: FakeFile = {
      fileId: `fake-file-${n}-${kind}`,
      fileUniqueId: `fake-unique-${n}`,
      filePath: `${kind}/file_${n}${extension}`,
      bytes,
      fileName,
      mimeType,
    };
    files.set(file.fileId, file);
    filesByPath.set(file.filePath, file);
    return file;
  };

  const messagesOf = (chatId: number | string): StoredMessage[] => {
    const key = String(chatId);
    let list = chatMessages.get(key);
    if (!list) {
      list = [];
      chatMessages.set(key, list);
    }
    return list;
  };

  const findMessage = (chatId: number | string, messageId: number): StoredMessage | undefined =>
    messagesOf(chatId).find((m) => m.messageId === messageId && !m.deleted);

  const apiMessage = (m: StoredMessage, withReply = true): Record<string, unknown> => {
    const message: Record<string, unknown> = { message_id: m.messageId, from: m.from, chat: chatObject(m.chatId), date: m.date };
    if (m.editDate !== undefined) message.edit_date = m.editDate;
    const textField = m.kind === 'text' ? 'text' : 'caption';
    if (m.text !== '' || m.kind === 'text') message[textField] = m.text;
    if (m.entities.length > 0) message[m.kind === 'text' ? 'entities' : 'caption_entities'] = m.entities;
    if (m.file && m.kind === 'document') {
      message.document = { file_id: m.file.fileId, file_unique_id: m.file.fileUniqueId, file_size: m.file.bytes.length, file_name: m.file.fileName, mime_type: m.file.mimeType };
    }
    if (m.file && m.kind === 'photo') {
      const size = m.photoSize ?? { width: 800, height: 600 };
      const scale = 90 / Math.max(size.width, size.height);
      const common = { file_id: m.file.fileId, file_unique_id: m.file.fileUniqueId, file_size: m.file.bytes.length };
      message.photo = [
        { ...common, width: Math.max(1, Math.round(size.width * scale)), height: Math.max(1, Math.round(size.height * scale)) },
        { ...common, ...size },
      ];
    }
    if (m.replyMarkup !== undefined) message.reply_markup = m.replyMarkup;
    if (withReply && m.replyToMessageId !== undefined) {
      const replied = messagesOf(m.chatId).find((r) => r.messageId === m.replyToMessageId);
      if (replied) message.reply_to_message = apiMessage(replied, false);
    }
    return message;
  };

  const storeMessage = (fields: Omit<StoredMessage, 'messageId' | 'date' | 'editDate' | 'editCount' | 'deleted'>): StoredMessage => {
    const message: StoredMessage = { ...fields, messageId: nextMessageId++, date: now(), editDate: undefined, editCount: 0, deleted: false };
    messagesOf(fields.chatId).push(message);
    return message;
  };

  // --- content validation shared by the sending methods

  const renderContent = (
    text: string,
    parseMode: string | undefined,
    explicitEntities: unknown,
  ): { text: string; entities: TelegramEntity[] } => {
    const mode = (parseMode ?? '').toLowerCase();
    if (mode === 'html') {
      const parsed = parseTelegramHtml(text);
      if (!parsed.ok) throw badRequest(parsed.error);
      return trimContent(parsed.text, parsed.entities);
    }
    if (mode !== '' && mode !== 'markdown' && mode !== 'markdownv2') throw badRequest('unsupported parse_mode');
    const entities = Array.isArray(explicitEntities) ? (explicitEntities as TelegramEntity[]) : [];
    return trimContent(text, entities);
  };

  const replyMarkupOf = (p: Params): unknown => {
    const markup = p.values.reply_markup;
    if (markup === undefined || markup === null) return undefined;
    if (typeof markup !== 'object') throw badRequest("can't parse reply keyboard markup JSON object");
    const keyboard = (markup as { inline_keyboard?: unknown }).inline_keyboard;
    if (keyboard === undefined) return undefined; // reply keyboards and removals are not kept on the message
    if (!Array.isArray(keyboard) || !keyboard.every((row) => Array.isArray(row))) throw badRequest("can't parse inline keyboard button: InlineKeyboardMarkup must be an Array of Arrays");
    for (const row of keyboard as unknown[][]) {
      for (const button of row) {
        const b = button as { text?: unknown; callback_data?: unknown; url?: unknown };
        if (typeof b.text !== 'string' || b.text === '') throw badRequest('text buttons are unallowed in the inline keyboard');
        if (b.callback_data !== undefined && (typeof b.callback_data !== 'string' || Buffer.byteLength(b.callback_data) > 64 || b.callback_data === '')) {
          throw badRequest('BUTTON_DATA_INVALID');
        }
      }
    }
    return markup;
  };

  const replyToOf = (p: Params, chatId: number | string): number | undefined => {
    const parameters = p.values.reply_parameters as { message_id?: unknown; allow_sending_without_reply?: unknown } | undefined;
    const id = typeof parameters?.message_id === 'number' ? parameters.message_id : p.int('reply_to_message_id');
    if (id === undefined) return undefined;
    if (findMessage(chatId, id)) return id;
    if (p.bool('allow_sending_without_reply') || parameters?.allow_sending_without_reply === true) return undefined;
    throw badRequest('message to be replied not found');
  };

  const sameContent = (m: StoredMessage, text: string, entities: readonly TelegramEntity[], markup: unknown): boolean =>
    m.text === text && JSON.stringify(m.entities) === JSON.stringify(entities) && JSON.stringify(m.replyMarkup) === JSON.stringify(markup);

  const editable = (p: Params): StoredMessage => {
    if (p.values.inline_message_id !== undefined) throw badRequest('the fake does not keep inline messages');
    const message = findMessage(p.chatId(), p.messageId());
    if (!message) throw badRequest('message to edit not found');
    if (message.sender !== 'bot') throw badRequest("message can't be edited");
    return message;
  };

  const sendFile = (p: Params, kind: 'photo' | 'document'): unknown => {
    const chatId = p.chatId();
    const input = p.values[kind];
    let file: FakeFile | undefined;
    if (typeof input === 'object' && input !== null && (input as UploadedFile).kind === 'upload') {
      const upload = input as UploadedFile;
      file = registerFile(upload.bytes, kind === 'photo' ? 'photos' : 'documents', upload.fileName, kind === 'photo' ? undefined : upload.contentType);
    } else if (typeof input === 'string' && files.has(input)) {
      file = files.get(input);
    } else if (typeof input === 'string' && /^https?:\/\//.test(input)) {
      file = registerFile(Buffer.alloc(0), kind === 'photo' ? 'photos' : 'documents', input.split('/').pop() || undefined, undefined);
    } else {
      throw badRequest(`there is no ${kind} in the request`);
    }
    const content = renderContent(p.string('caption') ?? '', p.string('parse_mode'), p.values.caption_entities);
    if (content.text.length > CAPTION_LIMIT) throw badRequest('message caption is too long');
    const message = storeMessage({
      chatId,
      sender: 'bot',
      kind,
      from: botUser,
      text: content.text,
      sentText: p.string('caption') ?? '',
      parseMode: p.string('parse_mode'),
      entities: content.entities,
      replyMarkup: replyMarkupOf(p),
      replyToMessageId: replyToOf(p, chatId),
      file,
      photoSize: undefined,
    });
    return apiMessage(message);
  };

  // --- updates and long polling

  const updateType = (update: Update): string => Object.keys(update).find((k) => k !== 'update_id') ?? '';
  const wanted = (update: Update): boolean => {
    const type = updateType(update);
    return allowedUpdates && allowedUpdates.size > 0 ? allowedUpdates.has(type) : !DEFAULT_EXCLUDED_UPDATES.has(type);
  };
  const deliverable = (limit: number): Update[] => pendingUpdates.filter(wanted).slice(0, limit);

  const enqueue = (update: Update): void => {
    pendingUpdates.push(update);
    if (poll && wanted(update)) {
      const waiting = poll;
      poll = undefined;
      waiting.finish(deliverable(waiting.limit));
    }
  };

  const getUpdates = (p: Params, onClientGone: (cb: () => void) => void): Promise<unknown> | unknown => {
    if (webhookUrl !== '') throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
    if (poll) {
      const previous = poll;
      poll = undefined;
      previous.finish(undefined, new ApiError(409, 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running'));
    }
    const offset = p.int('offset');
    if (offset !== undefined && offset > 0) pendingUpdates = pendingUpdates.filter((u) => u.update_id >= offset);
    if (offset !== undefined && offset < 0) pendingUpdates = pendingUpdates.slice(offset);
    const allowed = p.values.allowed_updates;
    if (Array.isArray(allowed)) allowedUpdates = new Set(allowed.filter((a): a is string => typeof a === 'string'));
    const limit = Math.min(100, Math.max(1, p.int('limit') ?? 100));
    const timeout = Math.max(0, p.int('timeout') ?? 0);
    const ready = deliverable(limit);
    if (ready.length > 0 || timeout === 0) return ready;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (poll === self) poll = undefined;
        resolve(deliverable(limit));
      }, timeout * 1000);
      const self: Poll = {
        limit,
        finish: (result, error) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(result);
        },
      };
      poll = self;
      onClientGone(() => {
        if (poll === self) poll = undefined;
        clearTimeout(timer);
      });
    });
  };

  // --- the methods

  const handlers: Record<string, Handler> = {
    getme: () => ({
      ...botUser,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    }),
    logout: () => true,
    close: () => true,
    deletewebhook: (p) => {
      webhookUrl = '';
      if (p.bool('drop_pending_updates')) pendingUpdates = [];
      return true;
    },
    setwebhook: (p) => {
      const url = p.string('url') ?? '';
      if (url !== '' && !url.startsWith('https://')) throw badRequest('bad webhook: An HTTPS URL must be provided for webhook');
      webhookUrl = url;
      if (p.bool('drop_pending_updates')) pendingUpdates = [];
      return true;
    },
    getwebhookinfo: () => ({ url: webhookUrl, has_custom_certificate: false, pending_update_count: pendingUpdates.length }),
    setmycommands: (p) => {
      const list = p.values.commands;
      if (!Array.isArray(list)) throw badRequest('parameter "commands" is required');
      for (const entry of list) {
        const c = entry as { command?: unknown; description?: unknown };
        if (typeof c.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command)) throw badRequest('BOT_COMMAND_INVALID');
        if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 256) throw badRequest('command description is empty or too long');
      }
      commands = list;
      return true;
    },
    getmycommands: () => commands,
    deletemycommands: () => {
      commands = [];
      return true;
    },
    sendmessage: (p) => {
      const chatId = p.chatId();
      const sent = p.string('text') ?? '';
      const content = renderContent(sent, p.string('parse_mode'), p.values.entities);
      if (content.text === '') throw badRequest('message text is empty');
      if (content.text.length > TEXT_LIMIT) throw badRequest('message is too long');
      const message = storeMessage({
        chatId,
        sender: 'bot',
        kind: 'text',
        from: botUser,
        text: content.text,
        sentText: sent,
        parseMode: p.string('parse_mode'),
        entities: content.entities,
        replyMarkup: replyMarkupOf(p),
        replyToMessageId: replyToOf(p, chatId),
        file: undefined,
        photoSize: undefined,
      });
      return apiMessage(message);
    },
    editmessagetext: (p) => {
      const message = editable(p);
      if (message.kind !== 'text') throw badRequest('there is no text in the message to edit');
      const sent = p.string('text') ?? '';
      const content = renderContent(sent, p.string('parse_mode'), p.values.entities);
      if (content.text === '') throw badRequest('message text is empty');
      if (content.text.length > TEXT_LIMIT) throw badRequest('MESSAGE_TOO_LONG'); // what Telegram says for edits
      const markup = replyMarkupOf(p); // an edit without reply_markup removes the keyboard
      if (sameContent(message, content.text, content.entities, markup)) throw badRequest(NOT_MODIFIED);
      Object.assign(message, {
        text: content.text,
        sentText: sent,
        parseMode: p.string('parse_mode'),
        entities: content.entities,
        replyMarkup: markup,
        editDate: now(),
        editCount: message.editCount + 1,
      });
      return apiMessage(message);
    },
    editmessagereplymarkup: (p) => {
      const message = editable(p);
      const markup = replyMarkupOf(p);
      if (sameContent(message, message.text, message.entities, markup)) throw badRequest(NOT_MODIFIED);
      Object.assign(message, { replyMarkup: markup, editDate: now(), editCount: message.editCount + 1 });
      return apiMessage(message);
    },
    deletemessage: (p) => {
      const message = findMessage(p.chatId(), p.messageId());
      if (!message) throw badRequest('message to delete not found');
      message.deleted = true;
      return true;
    },
    sendchataction: (p) => {
      p.chatId();
      if (!CHAT_ACTIONS.has(p.string('action') ?? '')) throw badRequest('wrong parameter action in request');
      return true;
    },
    answercallbackquery: (p) => {
      const query = callbackQueries.get(p.string('callback_query_id') ?? '');
      if (!query || query.answered) throw badRequest('query is too old and response timeout expired or query ID is invalid');
      query.answered = true;
      return true;
    },
    senddocument: (p) => sendFile(p, 'document'),
    sendphoto: (p) => sendFile(p, 'photo'),
    getfile: (p) => {
      const file = files.get(p.string('file_id') ?? '');
      if (!file) throw badRequest('invalid file_id');
      return { file_id: file.fileId, file_unique_id: file.fileUniqueId, file_size: file.bytes.length, file_path: file.filePath };
    },
  };

  // --- HTTP

  const send = (res: http.ServerResponse, status: number, body: unknown): void => {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const failureFor = (method: string): ApiError | undefined => {
    const failure = failures.get(method);
    if (!failure) return undefined;
    if (--failure.left <= 0) failures.delete(method);
    const { errorCode, retryAfter } = failure.spec;
    const retry = retryAfter ?? (errorCode === 429 ? 1 : undefined);
    const description = failure.spec.description ?? defaultDescription(errorCode, retry);
    return new ApiError(errorCode, description, retry === undefined ? undefined : { retry_after: retry });
  };

  const handleApi = async (req: http.IncomingMessage, res: http.ServerResponse, method: string, url: URL): Promise<void> => {
    const at = Date.now();
    let params: Record<string, unknown> = {};
    let unreadable: ApiError | undefined;
    try {
      params = await readParams(req, url);
    } catch (error) {
      unreadable = error instanceof ApiError ? error : badRequest(String(error));
    }
    const call: RecordedCall = { method, params, at };
    calls.push(call);
    const answer = (result: unknown): void => {
      call.response = { ok: true, result };
      send(res, 200, { ok: true, result });
      notify();
    };
    const refuse = (error: ApiError): void => {
      call.response = { ok: false, errorCode: error.errorCode, description: error.description };
      send(res, error.errorCode, {
        ok: false,
        error_code: error.errorCode,
        description: error.description,
        ...(error.parameters ? { parameters: error.parameters } : {}),
      });
      notify();
    };
    if (unreadable) return refuse(unreadable);
    const key = method.toLowerCase();
    const failure = failureFor(key);
    if (failure) return refuse(failure);
    try {
      const p = new Params(call.params);
      let result: unknown;
      if (key === 'getupdates') {
        const pending = getUpdates(p, (cb) => res.on('close', cb));
        if (pending instanceof Promise) notify(); // the poll is recorded before it is answered
        result = await pending;
      } else {
        const handler = handlers[key];
        if (!handler) throw new ApiError(404, 'Not Found');
        result = handler(p);
      }
      if (held?.(call)) return notify();
      answer(result);
    } catch (error) {
      refuse(error instanceof ApiError ? error : new ApiError(500, `Internal Server Error: ${String(error)}`));
    }
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const fileRoute = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (fileRoute) {
      if (fileRoute[1] !== token) return send(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      const file = filesByPath.get(decodeURIComponent(fileRoute[2] ?? ''));
      if (!file) return send(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      res.writeHead(200, { 'content-type': file.mimeType ?? 'application/octet-stream', 'content-length': String(file.bytes.length) });
      res.end(file.bytes);
      return;
    }
    const apiRoute = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!apiRoute) return send(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (apiRoute[1] !== token) return send(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    void handleApi(req, res, apiRoute[2] ?? '', url);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  // --- what tests use

  const injectUpdate = (update: Omit<Update, 'update_id'> & { update_id?: number }): Update => {
    const full = { ...update, update_id: update.update_id ?? nextUpdateId++ } as Update;
    nextUpdateId = Math.max(nextUpdateId, full.update_id + 1);
    enqueue(full);
    return full;
  };

  const toBytes = (bytes: Uint8Array | string): Buffer => (typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes));

  return {
    apiRoot: `http://127.0.0.1:${port}`,
    token,
    botUser,
    calls,
    injectUpdate,
    injectMessage(input) {
      const from = userObject(input.from);
      const chatId = input.chatId ?? input.from.id;
      chatObject(chatId, from);
      const text = input.text ?? '';
      let kind: StoredMessage['kind'] = 'text';
      let file: FakeFile | undefined;
      let photoSize: StoredMessage['photoSize'];
      if (input.photo) {
        kind = 'photo';
        file = registerFile(toBytes(input.photo.bytes), 'photos', undefined, 'image/jpeg');
        photoSize = { width: input.photo.width ?? 1280, height: input.photo.height ?? 960 };
      } else if (input.document) {
        kind = 'document';
        file = registerFile(toBytes(input.document.bytes), 'documents', input.document.fileName, input.document.mimeType ?? 'application/octet-stream');
      }
      const message = storeMessage({
        chatId,
        sender: 'user',
        kind,
        from,
        text,
        sentText: text,
        parseMode: undefined,
        entities: commandEntities(text),
        replyMarkup: undefined,
        replyToMessageId: input.replyToMessageId,
        file,
        photoSize,
      });
      const api = apiMessage(message) as unknown as Message;
      injectUpdate({ message: api } as Omit<Update, 'update_id'>);
      return api;
    },
    injectCallbackQuery(input) {
      const from = userObject(input.from);
      const chatId = input.chatId ?? input.from.id;
      const stored = findMessage(chatId, input.messageId);
      const message = stored ? apiMessage(stored) : { message_id: input.messageId, chat: chatObject(chatId, from), date: 0 };
      const id = `${botId}${String(nextQueryId++).padStart(6, '0')}`;
      callbackQueries.set(id, { answered: false });
      const query = { id, from, message, chat_instance: String(chatId), data: input.data } as unknown as CallbackQuery;
      injectUpdate({ callback_query: query } as Omit<Update, 'update_id'>);
      return id;
    },
    failNext(method, failure) {
      failures.set(method.toLowerCase(), { spec: failure, left: failure.times ?? 1 });
    },
    holdAnswers(predicate) {
      held = predicate;
    },
    messages(chatId, opts) {
      return messagesOf(chatId)
        .filter((m) => opts?.includeDeleted === true || !m.deleted)
        .map((m) => ({
          messageId: m.messageId,
          chatId: m.chatId,
          sender: m.sender,
          kind: m.kind,
          date: m.date,
          text: m.text,
          sentText: m.sentText,
          parseMode: m.parseMode,
          entities: [...m.entities],
          replyMarkup: m.replyMarkup,
          replyToMessageId: m.replyToMessageId,
          file: m.file,
          editCount: m.editCount,
          deleted: m.deleted,
        }));
    },
    file: (fileId) => files.get(fileId),
    waitForCall(predicate, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          let found: RecordedCall | undefined;
          try {
            found = calls.find((c, i) => predicate(c, i));
          } catch (error) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(String(error)));
            return true;
          }
          if (!found) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = calls.map((c) => c.method).join(', ') || 'none';
          reject(new Error(`No matching Telegram call within ${timeoutMs} ms; calls so far: ${seen}`));
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async close() {
      if (poll) {
        const waiting = poll;
        poll = undefined;
        waiting.finish([]);
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        setImmediate(() => {
          for (const socket of sockets) socket.destroy();
        });
      });
    },
  };
}

/** bot_command entities, as Telegram marks `/command` and `/command@bot` in user messages. */
function commandEntities(text: string): TelegramEntity[] {
  const entities: TelegramEntity[] = [];
  for (const m of text.matchAll(/(^|\s)(\/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,32})?)(?=$|\s)/g)) {
    entities.push({ type: 'bot_command', offset: (m.index ?? 0) + (m[1]?.length ?? 0), length: m[2]?.length ?? 0 });
  }
  return entities;
}

function defaultDescription(errorCode: number, retryAfter: number | undefined): string {
  switch (errorCode) {
    case 429:
      return `Too Many Requests: retry after ${retryAfter ?? 1}`;
    case 400:
      return 'Bad Request';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden: bot was blocked by the user';
    case 404:
      return 'Not Found';
    case 409:
      return 'Conflict';
    default:
      return errorCode >= 500 ? 'Internal Server Error' : 'Error';
  }
}
