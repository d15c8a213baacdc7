// @cairn/cairn/ai-sdk: chat persistence for the Vercel AI SDK (`ai` 6). A chat is a Cairn thread
// (its owner the thread's user, its title the thread's title, its session the thread's session);
// its UIMessages are the thread's messages (MessageStore), loaded back through the SDK's own
// validator. Its own entry because it needs the optional peer `ai`, which `@cairn/cairn` never imports.
import { validateUIMessages, type UIMessage } from 'ai';
import { createResumableStreamContext, type ResumableStreamContext } from 'resumable-stream/generic';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { CairnError, IdSchema, ValidationError, jsonbEquals, parseInput, type JsonObject } from '@cairn/core';
import type { MessageInput, MessageRecord, MessageStore, ThreadManager, ThreadRecord } from '@cairn/objects';
import { createStreamPubSub, type RedisConnection, type StreamPubSub } from '@cairn/redis';

/** What validateUIMessages takes besides the messages: the schemas of metadata, data parts and tools. */
export type UIMessageValidation<UI_MESSAGE extends UIMessage> = Omit<Parameters<typeof validateUIMessages<UI_MESSAGE>>[0], 'messages'>;

/** What a chat store needs of a Cairn instance (or of a tenant view of one). */
export interface ChatStoreParts {
  readonly threads: ThreadManager;
  readonly messages: MessageStore;
}

const CreateChatSchema = z
  .object({
    userId: IdSchema,
    id: IdSchema.optional(),
    sessionId: IdSchema.nullable().optional(),
    title: z.string().max(1000).nullable().optional(),
  })
  .strict();

/** Input of createChat(). */
export type CreateChatInput = z.input<typeof CreateChatSchema>;

/** What saveChat() changed. */
export interface SaveChatResult {
  /** Messages stored for the first time. */
  appended: number;
  /** Stored messages whose role, parts or metadata changed (an edit, a tool result, a finished stream). */
  updated: number;
  /** Stored messages the chat no longer has (an answer being regenerated, history edited away). */
  deleted: number;
}

// Pages of the message store while a chat is loaded or compared.
const PAGE = 1000;

/** Reads every message of a thread, oldest first. */
async function allMessages(messages: MessageStore, threadId: string): Promise<MessageRecord[]> {
  const all: MessageRecord[] = [];
  for (;;) {
    const last = all.at(-1);
    const page = await messages.list(threadId, { limit: PAGE, ...(last ? { after: last.id } : {}) });
    all.push(...page);
    if (page.length < PAGE) return all;
  }
}

/** A UIMessage's metadata as stored: a JSON object; none is stored as {}. */
function metadataOf(message: UIMessage): JsonObject {
  const { metadata } = message;
  if (metadata === undefined || metadata === null) return {};
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new ValidationError('chat message', [{ path: `${message.id}.metadata`, message: 'must be an object (stored as the message metadata)' }]);
  }
  return metadata as JsonObject;
}

function toInput(message: UIMessage): MessageInput {
  return { id: message.id, role: message.role, parts: message.parts as unknown as JsonObject[], metadata: metadataOf(message) };
}

function toUIMessage(record: MessageRecord): UIMessage {
  const message: UIMessage = { id: record.id, role: record.role as UIMessage['role'], parts: record.parts as unknown as UIMessage['parts'] };
  if (Object.keys(record.metadata).length > 0) message.metadata = record.metadata;
  return message;
}

/**
 * Chats of the Vercel AI SDK on Cairn: `createChat`, `loadChat` (validated UIMessages), `saveChat`
 * (only what is new or changed), and `onFinish(chatId)` for `toUIMessageStreamResponse`.
 */
export class CairnChatStore<UI_MESSAGE extends UIMessage = UIMessage> {
  readonly #threads: ThreadManager;
  readonly #messages: MessageStore;
  readonly #validation: UIMessageValidation<UI_MESSAGE>;

  /** `validation`: the metadata, data-part and tool schemas validateUIMessages checks loaded and saved chats against. */
  constructor(cairn: ChatStoreParts, validation: UIMessageValidation<UI_MESSAGE> = {}) {
    this.#threads = cairn.threads;
    this.#messages = cairn.messages;
    this.#validation = validation;
  }

  /** Creates a chat (a thread of `userId`, optionally in a session) and returns its id. */
  async createChat(input: CreateChatInput): Promise<string> {
    const opts = parseInput(CreateChatSchema, input, 'chat');
    const thread = await this.#threads.create({
      userId: opts.userId,
      ...(opts.id !== undefined ? { id: opts.id } : {}),
      ...(opts.sessionId !== undefined ? { sessionId: opts.sessionId } : {}),
      ...(opts.title !== undefined ? { title: opts.title } : {}),
    });
    return thread.id;
  }

  /** The chat's thread (owner, title, session, metadata), or null. */
  chat(chatId: string): Promise<ThreadRecord | null> {
    return this.#threads.get(chatId);
  }

  /**
   * The chat's messages, oldest first, checked by the SDK's validateUIMessages against this
   * store's schemas: a stored message that no longer matches them (a tool's schema changed) fails
   * here rather than in the model call. A chat without messages gives [].
   */
  async loadChat(chatId: string): Promise<UI_MESSAGE[]> {
    const records = await allMessages(this.#messages, parseInput(IdSchema, chatId, 'chat id'));
    if (records.length === 0) return [];
    return validateUIMessages<UI_MESSAGE>({ ...this.#validation, messages: records.map(toUIMessage) });
  }

  /**
   * Stores the chat as `messages` has it, writing only the difference: messages it adds are
   * appended; stored ones whose role, parts or metadata differ are updated in place; stored ones
   * after the point where `messages` diverges (a regenerated answer) are deleted. Validated first
   * with the SDK's validateUIMessages, then by Cairn's input rules; the writes are one transaction
   * (MessageStore.applyChanges), so a refused or failed save changes nothing.
   */
  async saveChat({ chatId, messages }: { chatId: string; messages: readonly UI_MESSAGE[] }): Promise<SaveChatResult> {
    const thread = parseInput(IdSchema, chatId, 'chat id');
    const incoming = await validateUIMessages<UI_MESSAGE>({ ...this.#validation, messages });
    const inputs = incoming.map(toInput);
    const stored = await allMessages(this.#messages, thread);
    let common = 0;
    while (common < stored.length && common < inputs.length && stored[common]!.id === inputs[common]!.id) common += 1;
    const update = [];
    for (let i = 0; i < common; i++) {
      const [was, now] = [stored[i]!, inputs[i]!];
      // jsonb's equality: what the database returns may order keys differently from what was sent.
      if (was.role === now.role && jsonbEquals(was.parts, now.parts!) && jsonbEquals(was.metadata, now.metadata!)) continue;
      update.push({ id: was.id, changes: { role: now.role, parts: now.parts!, metadata: now.metadata! } });
    }
    const fresh = inputs.slice(common);
    if (update.length === 0 && common === stored.length && fresh.length === 0) return { appended: 0, updated: 0, deleted: 0 };
    const { deleted } = await this.#messages.applyChanges(thread, {
      update,
      ...(common < stored.length ? { deleteFrom: stored[common]!.id } : {}),
      append: fresh,
    });
    return { appended: fresh.length, updated: update.length, deleted };
  }

  /**
   * The `onFinish` of `result.toUIMessageStreamResponse({ originalMessages, onFinish })`: saves
   * the chat with the answer the stream produced.
   */
  onFinish(chatId: string): (event: { messages: UI_MESSAGE[] }) => Promise<void> {
    return async ({ messages }) => {
      await this.saveChat({ chatId, messages });
    };
  }
}

/** The chat's answer cannot be resumed: Redis is unavailable (the answer itself is unaffected). */
export class StreamNotResumableError extends CairnError {
  override readonly name = 'StreamNotResumableError';
  readonly chatId: string;
  constructor(chatId: string, reason: string, options: { cause?: unknown } = {}) {
    super('STREAM_NOT_RESUMABLE', `The answer streaming into chat ${JSON.stringify(chatId)} cannot be resumed: ${reason}`, { category: 'unavailable', ...options, details: { chatId } });
    this.chatId = chatId;
  }
}

/** What resumable chat streams need of a Cairn instance: its threads and its Redis connection. */
export interface ChatStreamParts {
  readonly threads: ThreadManager;
  readonly redis: RedisConnection | undefined;
}

// The thread metadata key holding the id of the answer streaming into a chat.
const ACTIVE_STREAM = 'activeStreamId';

/**
 * Resumable answers (`resumable-stream` on Cairn's Redis connection): the stream of an answer in
 * progress is kept in Redis as it is produced and its id recorded on the chat's thread, so a client
 * that reconnects mid-answer (a reload, a dropped connection) replays it from the start and follows
 * it to the end. The process producing the answer serves the replay, as the package does.
 *
 * With the AI SDK: `result.toUIMessageStreamResponse({ originalMessages, consumeSseStream:
 * streams.consumeSseStream(chatId), onFinish: async (e) => { await chats.onFinish(chatId)(e);
 * await streams.finish(chatId); } })`, and in the route the client's `resume: true` calls,
 * `streams.resume(chatId)` (null: nothing to resume, answer with 204).
 */
export class ResumableChatStreams {
  readonly #threads: ThreadManager;
  readonly #redis: RedisConnection;
  readonly #pubsub: StreamPubSub;
  readonly #context: ResumableStreamContext;

  /** `waitUntil` keeps a serverless function alive until the producer finished (e.g. Next's `after`); null on a server. */
  constructor(cairn: ChatStreamParts, options: { waitUntil?: ((promise: Promise<unknown>) => void) | null; timeoutMs?: number } = {}) {
    if (!cairn.redis) throw new StreamNotResumableError('(any)', 'this Cairn instance has no Redis connection (createCairn({ redisUrl }))');
    this.#threads = cairn.threads;
    this.#redis = cairn.redis;
    this.#pubsub = createStreamPubSub(cairn.redis, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
    this.#context = createResumableStreamContext({
      waitUntil: options.waitUntil ?? null,
      keyPrefix: cairn.redis.key('streams'),
      publisher: this.#pubsub.publisher,
      subscriber: this.#pubsub.subscriber,
    });
  }

  /**
   * The `consumeSseStream` of toUIMessageStreamResponse: keeps the answer's stream resumable and
   * records its id on the chat. When Redis is unavailable the answer goes to the client as usual,
   * not resumable, and `onNotResumable` hears why.
   */
  consumeSseStream(chatId: string, onNotResumable: (error: StreamNotResumableError) => void = () => undefined): (event: { stream: ReadableStream<string> }) => Promise<void> {
    const chat = parseInput(IdSchema, chatId, 'chat id');
    return async ({ stream }) => {
      const streamId = uuidv7();
      try {
        if (!this.#redis.serving) throw new StreamNotResumableError(chat, 'Redis is unavailable');
        await this.#context.createNewResumableStream(streamId, () => stream);
        await this.#threads.update(chat, { mergeMetadata: { [ACTIVE_STREAM]: streamId } });
      } catch (error) {
        // The copy must still be read to its end, or the response it was split from would stall.
        void stream.pipeTo(new WritableStream()).catch(() => undefined);
        onNotResumable(error instanceof StreamNotResumableError ? error : new StreamNotResumableError(chat, (error as Error).message, { cause: error }));
      }
    };
  }

  /**
   * The chat's answer in progress, from its first character, followed to its end; null when no
   * answer is streaming (none started, or it finished). StreamNotResumableError when Redis is
   * unavailable, at once rather than after a wait.
   */
  async resume(chatId: string): Promise<ReadableStream<string> | null> {
    const chat = parseInput(IdSchema, chatId, 'chat id');
    const thread = await this.#threads.get(chat);
    const streamId = thread?.metadata[ACTIVE_STREAM];
    if (typeof streamId !== 'string') return null;
    if (!this.#redis.serving) throw new StreamNotResumableError(chat, 'Redis is unavailable');
    try {
      return (await this.#context.resumeExistingStream(streamId)) ?? null;
    } catch (error) {
      throw new StreamNotResumableError(chat, (error as Error).message, { cause: error });
    }
  }

  /** Forgets the chat's active stream (call it once the answer is saved, in onFinish). */
  async finish(chatId: string): Promise<void> {
    await this.#threads.update(parseInput(IdSchema, chatId, 'chat id'), { mergeMetadata: { [ACTIVE_STREAM]: null } });
  }

  /** Closes the subscriber connection (Cairn's own connection stays open). */
  close(): Promise<void> {
    return this.#pubsub.close();
  }
}
