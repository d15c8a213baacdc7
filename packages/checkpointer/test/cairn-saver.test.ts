import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDb } from '@cairn/db/testing';
import type { CairnDb } from '@cairn/db';
import { AIMessage, BaseMessage, HumanMessage } from '@langchain/core/messages';
import { Annotation, MessagesAnnotation, StateGraph, START, END } from '@langchain/langgraph';
import { z } from 'zod';
import { PostgresCheckpointer, exportThreads, importThreads, MemoryCheckpointer } from '../src/index.js';
import { CairnSaver } from '../src/langgraph.js';

let db: CairnDb;
let saver: CairnSaver;
beforeAll(async () => {
  db = await createTestDb();
  saver = new CairnSaver(new PostgresCheckpointer(db, { tenantId: 'langgraph' }));
});
afterAll(async () => {
  await saver.checkpointer.close();
  await db.close();
});

const State = Annotation.Root({ ...MessagesAnnotation.spec, turns: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }) });
// LangGraph types a snapshot's values loosely; this is the shape State gives them.
const SnapshotValues = z.object({ turns: z.number(), messages: z.array(z.instanceof(BaseMessage)) });

function graph(checkpointer: CairnSaver) {
  return new StateGraph(State)
    .addNode('bot', (s) => ({ messages: [new AIMessage(`echo: ${s.messages.at(-1)?.text ?? ''}`)], turns: 1 }))
    .addEdge(START, 'bot')
    .addEdge('bot', END)
    .compile({ checkpointer });
}

describe('CairnSaver with a LangGraph StateGraph', () => {
  it('keeps a conversation across invocations, with message classes intact', async () => {
    const app = graph(saver);
    const config = { configurable: { thread_id: 'chat-1' } };
    await app.invoke({ messages: [new HumanMessage('hi')] }, config);
    const result = await app.invoke({ messages: [new HumanMessage('again')] }, config);
    expect(result.turns).toBe(2);
    expect(result.messages.map((m: BaseMessage) => [m.getType(), m.content])).toEqual([
      ['human', 'hi'],
      ['ai', 'echo: hi'],
      ['human', 'again'],
      ['ai', 'echo: again'],
    ]);
    expect(result.messages[1]).toBeInstanceOf(AIMessage);
  });

  it('lists history and replays from an earlier checkpoint (time travel)', async () => {
    const app = graph(saver);
    const config = { configurable: { thread_id: 'chat-2' } };
    await app.invoke({ messages: [new HumanMessage('one')] }, config);
    await app.invoke({ messages: [new HumanMessage('two')] }, config);
    const history = [];
    for await (const snapshot of app.getStateHistory(config)) history.push(snapshot);
    expect(history.length).toBeGreaterThanOrEqual(6);
    const afterFirst = history.find((s) => SnapshotValues.parse(s.values).turns === 1 && s.next.length === 0)!;
    const replayed = await app.invoke({ messages: [new HumanMessage('three')] }, afterFirst.config);
    expect(replayed.messages.map((m: BaseMessage) => m.content)).toEqual(['one', 'echo: one', 'three', 'echo: three']);
    // Cairn sees the same thread through its own API.
    const latest = await saver.checkpointer.getRaw('chat-2');
    expect(latest?.state.format).toBe('langgraph:json');
    expect(latest?.metadata).toMatchObject({ source: 'loop' });
  });

  it('moves a LangGraph thread between checkpointers with export/import', async () => {
    const memory = new CairnSaver(new MemoryCheckpointer());
    const app = graph(memory);
    await app.invoke({ messages: [new HumanMessage('portable')] }, { configurable: { thread_id: 'chat-3' } });
    await importThreads(saver.checkpointer, exportThreads(memory.checkpointer, ['chat-3']));
    const moved = await graph(saver).getState({ configurable: { thread_id: 'chat-3' } });
    expect(SnapshotValues.parse(moved.values).messages.map((m) => m.content)).toEqual(['portable', 'echo: portable']);
    await memory.close();
    await memory.checkpointer.close();
  });

  it('deletes a thread', async () => {
    await saver.deleteThread('chat-1');
    expect(await saver.getTuple({ configurable: { thread_id: 'chat-1' } })).toBeUndefined();
  });
});
