// The Vercel AI SDK adapter on a real PostgreSQL: every UIMessage part type the SDK defines
// round-trips through saveChat / loadChat; what the SDK's validator rejects is rejected; saveChat
// writes only the difference (new, changed, regenerated); chats are threads of their owner.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { setTimeout as sleep } from 'node:timers/promises';
import { createUIMessageStream, createUIMessageStreamResponse, tool, type UIMessage } from 'ai';
import { createTestDatabase, freePort, type TestDatabase } from '@cairn/db/testing';
import { testRedisUrl, uniqueKeyPrefix } from '@cairn/redis/testing';
import { ThreadNotFoundError, createCairn, type Cairn } from '../src/index.js';
import { CairnChatStore, ResumableChatStreams, StreamNotResumableError } from '../src/ai-sdk.js';

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(25);
  }
}

let database: TestDatabase;
let cairn: Cairn;

beforeAll(async () => {
  database = await createTestDatabase();
  cairn = await createCairn({ databaseUrl: database.url, db: { pool: { max: 4 } } });
});
afterAll(async () => {
  await cairn?.close();
  await database?.drop();
});

type Weather = { city: string };
/** One message per part type and tool state the SDK defines (ai 6). */
const everyPart: UIMessage[] = [
  { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Weather in Oslo? See the map.' }, { type: 'file', mediaType: 'image/png', filename: 'map.png', url: 'data:image/png;base64,iVBORw0KGgo=' }] },
  {
    id: 'a1',
    role: 'assistant',
    metadata: { model: 'offline', createdAt: 1767225600000 },
    parts: [
      { type: 'step-start' },
      { type: 'reasoning', text: 'The user wants the weather.', state: 'done', providerMetadata: { offline: { signature: 'abc' } } },
      { type: 'tool-weather', toolCallId: 'c1', state: 'input-streaming', input: { city: 'Os' } },
      { type: 'tool-weather', toolCallId: 'c2', state: 'input-available', input: { city: 'Oslo' } satisfies Weather },
      { type: 'tool-weather', toolCallId: 'c3', state: 'approval-requested', input: { city: 'Oslo' }, approval: { id: 'ap1' } },
      { type: 'tool-weather', toolCallId: 'c4', state: 'approval-responded', input: { city: 'Oslo' }, approval: { id: 'ap2', approved: true, reason: 'fine' } },
      { type: 'tool-weather', toolCallId: 'c5', state: 'output-available', input: { city: 'Oslo' }, output: { celsius: -3 } },
      { type: 'tool-weather', toolCallId: 'c6', state: 'output-error', input: { city: 'Atlantis' }, errorText: 'no such city' },
      { type: 'tool-weather', toolCallId: 'c7', state: 'output-denied', input: { city: 'Oslo' }, approval: { id: 'ap3', approved: false, reason: 'no' } },
      { type: 'dynamic-tool', toolName: 'lookup', toolCallId: 'd1', state: 'output-available', input: { q: 'oslo' }, output: ['a', 'b'] },
      { type: 'source-url', sourceId: 's1', url: 'https://example.com/oslo', title: 'Oslo' },
      { type: 'source-document', sourceId: 's2', mediaType: 'application/pdf', title: 'Climate of Norway', filename: 'climate.pdf' },
      { type: 'data-forecast', id: 'f1', data: { days: [1, 2, 3] } },
      { type: 'text', text: 'It is -3 °C in Oslo.', state: 'done' },
    ],
  },
];

describe('CairnChatStore', () => {
  it('round-trips every UIMessage part type and tool state', async () => {
    const chats = new CairnChatStore(cairn);
    const chatId = await chats.createChat({ userId: 'ada', title: 'Weather' });
    expect(await chats.loadChat(chatId)).toEqual([]);
    expect(await chats.saveChat({ chatId, messages: everyPart })).toEqual({ appended: 2, updated: 0, deleted: 0 });
    expect(await chats.loadChat(chatId)).toEqual(everyPart);
    // The chat is a thread of its owner, with its title.
    expect(await chats.chat(chatId)).toMatchObject({ userId: 'ada', title: 'Weather' });
    expect((await cairn.threads.listByUser('ada')).items.map((t) => t.id)).toContain(chatId);
    // The text is searchable as the message content.
    expect((await cairn.messages.get(chatId, 'a1'))!.content).toBe('It is -3 °C in Oslo.');
  });

  it('checks chats with the SDK validator and the schemas it was given', async () => {
    type WeatherMessage = UIMessage<{ model: string; createdAt: number } | undefined, { forecast: { days: number[] } }, { weather: { input: { city: string }; output: { celsius: number } } }>;
    const chats = new CairnChatStore<WeatherMessage>(cairn, {
      metadataSchema: z.object({ model: z.string(), createdAt: z.number() }).optional(),
      dataSchemas: { forecast: z.object({ days: z.array(z.number()) }) },
      tools: { weather: tool({ inputSchema: z.object({ city: z.string() }), outputSchema: z.object({ celsius: z.number() }) }) },
    });
    const chatId = await chats.createChat({ userId: 'ada' });
    const valid = [
      everyPart[0]!,
      { id: 'a1', role: 'assistant', metadata: { model: 'offline', createdAt: 1 }, parts: [{ type: 'tool-weather', toolCallId: 'c5', state: 'output-available', input: { city: 'Oslo' }, output: { celsius: -3 } }, { type: 'data-forecast', data: { days: [1] } }] },
    ] as WeatherMessage[];
    await chats.saveChat({ chatId, messages: valid });
    expect(await chats.loadChat(chatId)).toEqual(valid);
    const rejects = (messages: unknown) => expect(chats.saveChat({ chatId, messages: messages as WeatherMessage[] })).rejects.toThrow();
    await rejects([{ id: 'x', role: 'tool', parts: [{ type: 'text', text: 'hi' }] }]);
    await rejects([{ id: 'x', role: 'user', parts: [] }]);
    await rejects([{ id: 'x', role: 'user', parts: [{ type: 'text' }] }]);
    await rejects([{ id: 'x', role: 'assistant', metadata: { model: 1 }, parts: [{ type: 'text', text: 'hi' }] }]);
    await rejects([{ id: 'x', role: 'assistant', parts: [{ type: 'data-forecast', data: { days: 'soon' } }] }]);
    await rejects([{ id: 'x', role: 'assistant', parts: [{ type: 'tool-weather', toolCallId: 'c', state: 'input-available', input: { town: 'Oslo' } }] }]);
    await rejects([{ id: 'x', role: 'user', parts: [{ type: 'text', text: 'nul \u0000' }] }]);
    // Nothing of the rejected saves was written.
    expect(await chats.loadChat(chatId)).toEqual(valid);
  });

  it('writes only what is new or changed, and drops a regenerated answer', async () => {
    const chats = new CairnChatStore(cairn);
    const chatId = await chats.createChat({ userId: 'bob' });
    const q1: UIMessage = { id: 'q1', role: 'user', parts: [{ type: 'text', text: 'one' }] };
    const a1: UIMessage = { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'first answer' }] };
    const q2: UIMessage = { id: 'q2', role: 'user', parts: [{ type: 'text', text: 'two' }] };
    const a2: UIMessage = { id: 'a2', role: 'assistant', parts: [{ type: 'text', text: 'second answer' }] };
    expect(await chats.saveChat({ chatId, messages: [q1, a1] })).toEqual({ appended: 2, updated: 0, deleted: 0 });
    const storedQ1 = await cairn.messages.get(chatId, 'q1');
    expect(await chats.saveChat({ chatId, messages: [q1, a1, q2, a2] })).toEqual({ appended: 2, updated: 0, deleted: 0 });
    expect((await cairn.messages.get(chatId, 'q1'))!.updatedAt).toEqual(storedQ1!.updatedAt);
    // A tool result arriving in a stored message: updated in place.
    const a2done: UIMessage = { ...a2, parts: [...a2.parts, { type: 'text', text: 'and more' }] };
    expect(await chats.saveChat({ chatId, messages: [q1, a1, q2, a2done] })).toEqual({ appended: 0, updated: 1, deleted: 0 });
    // Regenerate the answer to q2: the old answer goes, the new one takes its place at the end.
    const a2b: UIMessage = { id: 'a2b', role: 'assistant', parts: [{ type: 'text', text: 'regenerated' }] };
    expect(await chats.saveChat({ chatId, messages: [q1, a1, q2, a2b] })).toEqual({ appended: 1, updated: 0, deleted: 1 });
    expect((await chats.loadChat(chatId)).map((m) => m.id)).toEqual(['q1', 'a1', 'q2', 'a2b']);
    // The same save again changes nothing.
    expect(await chats.saveChat({ chatId, messages: [q1, a1, q2, a2b] })).toEqual({ appended: 0, updated: 0, deleted: 0 });
    // onFinish saves what the stream finished with.
    await chats.onFinish(chatId)({ messages: [q1, a1] });
    expect((await chats.loadChat(chatId)).map((m) => m.id)).toEqual(['q1', 'a1']);
  });

  it('needs the chat to exist, and keeps tenants apart', async () => {
    const chats = new CairnChatStore(cairn);
    await expect(chats.saveChat({ chatId: 'nobody', messages: [everyPart[0]!] })).rejects.toBeInstanceOf(ThreadNotFoundError);
    const chatId = await chats.createChat({ userId: 'ada', id: 'shared-chat-id' });
    await chats.saveChat({ chatId, messages: [everyPart[0]!] });
    const other = new CairnChatStore(cairn.forTenant('acme'));
    expect(await other.loadChat(chatId)).toEqual([]);
    await expect(other.saveChat({ chatId, messages: [everyPart[0]!] })).rejects.toBeInstanceOf(ThreadNotFoundError);
  });
});

describe('ResumableChatStreams', () => {
  const words = Array.from({ length: 30 }, (_, i) => `word${i} `);
  /** An answer streamed word by word (20 ms apart), as the SDK's UI message stream response sends it. */
  function answer(chats: CairnChatStore, chatId: string, history: UIMessage[], consumeSseStream?: (e: { stream: ReadableStream<string> }) => Promise<void>) {
    const stream = createUIMessageStream({
      originalMessages: history,
      execute: async ({ writer }) => {
        writer.write({ type: 'start', messageId: 'answer-1' });
        writer.write({ type: 'text-start', id: 't1' });
        for (const delta of words) {
          await sleep(20);
          writer.write({ type: 'text-delta', id: 't1', delta });
        }
        writer.write({ type: 'text-end', id: 't1' });
        writer.write({ type: 'finish' });
      },
      onFinish: chats.onFinish(chatId),
    });
    return createUIMessageStreamResponse({ stream, ...(consumeSseStream ? { consumeSseStream } : {}) });
  }
  async function readAll(stream: ReadableStream<string | Uint8Array>): Promise<string> {
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of stream as AsyncIterable<string | Uint8Array>) text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    return text;
  }

  it('resumes an answer a client dropped mid-stream, to the identical full text', async () => {
    const redisCairn = await createCairn({ databaseUrl: database.url, redisUrl: testRedisUrl(), redis: { keyPrefix: uniqueKeyPrefix('streams') }, db: { pool: { max: 4 } } });
    const streams = new ResumableChatStreams(redisCairn);
    try {
      const chats = new CairnChatStore(redisCairn);
      const question: UIMessage = { id: 'q1', role: 'user', parts: [{ type: 'text', text: 'Tell me thirty words.' }] };
      // What an uninterrupted client receives.
      const referenceChat = await chats.createChat({ userId: 'ada' });
      await chats.saveChat({ chatId: referenceChat, messages: [question] });
      const expected = await readAll(answer(chats, referenceChat, [question]).body!);
      expect(expected).toContain('word29');

      const chatId = await chats.createChat({ userId: 'ada' });
      await chats.saveChat({ chatId, messages: [question] });
      const response = answer(chats, chatId, [question], streams.consumeSseStream(chatId));
      // The client reads a few chunks, then goes away (a reload).
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let partial = '';
      while (!partial.includes('word5 ')) {
        const { value } = await reader.read();
        partial += decoder.decode(value, { stream: true });
      }
      await reader.cancel();
      // It comes back and asks for the answer in progress.
      await until(async () => (await redisCairn.threads.get(chatId))!.metadata.activeStreamId !== undefined);
      const resumed = await streams.resume(chatId);
      expect(resumed).not.toBeNull();
      const full = await readAll(resumed!);
      expect(full).toBe(expected);
      expect(full.startsWith(partial)).toBe(true);
      // The producer finished and saved the answer; nothing is left to resume once it is forgotten.
      await until(async () => (await chats.loadChat(chatId)).length === 2);
      const [, saved] = await chats.loadChat(chatId);
      expect(saved!.parts.find((p) => p.type === 'text')).toMatchObject({ text: words.join('') });
      await streams.finish(chatId);
      expect(await streams.resume(chatId)).toBeNull();
    } finally {
      await streams.close();
      await redisCairn.close();
    }
  });

  it('says "not resumable" at once when Redis is down, and the answer still reaches the client', async () => {
    const port = await freePort();
    const downCairn = await createCairn({ databaseUrl: database.url, redisUrl: `redis://127.0.0.1:${port}`, redis: { readyTimeoutMs: 300 }, db: { pool: { max: 4 } } });
    const streams = new ResumableChatStreams(downCairn, { timeoutMs: 500 });
    try {
      const chats = new CairnChatStore(downCairn);
      const chatId = await chats.createChat({ userId: 'ada' });
      const question: UIMessage = { id: 'q1', role: 'user', parts: [{ type: 'text', text: 'Hello?' }] };
      await chats.saveChat({ chatId, messages: [question] });
      const refusals: StreamNotResumableError[] = [];
      const text = await readAll(answer(chats, chatId, [question], streams.consumeSseStream(chatId, (e) => refusals.push(e))).body!);
      expect(text).toContain('word29');
      expect(refusals).toHaveLength(1);
      expect(refusals[0]!.code).toBe('STREAM_NOT_RESUMABLE');
      // Nothing was recorded, so there is nothing to resume; a recorded stream with Redis down is refused.
      expect(await streams.resume(chatId)).toBeNull();
      await downCairn.threads.update(chatId, { mergeMetadata: { activeStreamId: 'some-stream' } });
      await expect(streams.resume(chatId)).rejects.toBeInstanceOf(StreamNotResumableError);
    } finally {
      await streams.close();
      await downCairn.close();
    }
  });

  it('needs a Redis connection', () => {
    expect(() => new ResumableChatStreams(cairn)).toThrow(StreamNotResumableError);
  });
});
