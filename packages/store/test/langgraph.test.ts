// A LangGraph graph with Cairn for both halves of its persistence: CairnSaver keeps each thread's
// checkpoints, CairnStore the memories every thread of a user shares. One thread writes memories;
// another, which never saw them, recalls the one that means what it asks.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Annotation, StateGraph, START, END, type LangGraphRunnableConfig } from '@langchain/langgraph';
import { PostgresCheckpointer } from '@cairn/checkpointer';
import { CairnSaver } from '@cairn/checkpointer/langgraph';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { CairnStore } from '../src/index.js';
import { WordHashEmbeddings } from '../src/testing.js';

let db: CairnDb;
let saver: CairnSaver;
let store: CairnStore;
beforeAll(async () => {
  db = await createTestDb();
  saver = new CairnSaver(new PostgresCheckpointer(db, { tenantId: 'agents' }));
  store = new CairnStore(db, { tenantId: 'agents', index: { dims: 64, embed: new WordHashEmbeddings(64), fields: ['text'] } });
  await store.start();
});
afterAll(async () => {
  await store.close();
  await saver.checkpointer.close();
  await db.close();
});

const State = Annotation.Root({
  input: Annotation<string>,
  recalled: Annotation<string[]>({ reducer: (_, next) => next, default: () => [] }),
  turns: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
});

/** `remember: …` stores a memory for the user; anything else recalls the closest one. */
async function memoryNode(state: typeof State.State, config: LangGraphRunnableConfig) {
  const userId = String(config.configurable?.user_id);
  const memories = config.store!;
  const remember = /^remember: (.*)$/.exec(state.input);
  if (remember) {
    await memories.put(['memories', userId], `m${state.turns}-${remember[1]!.length}`, { text: remember[1]! });
    return { recalled: [], turns: 1 };
  }
  const found = await memories.search(['memories', userId], { query: state.input, limit: 1 });
  return { recalled: found.map((m) => String(m.value.text)), turns: 1 };
}

function graph() {
  return new StateGraph(State).addNode('memory', memoryNode).addEdge(START, 'memory').addEdge('memory', END).compile({ checkpointer: saver, store });
}

describe('CairnStore as a LangGraph store', () => {
  it('recalls by meaning in one thread what another thread remembered', async () => {
    const app = graph();
    const writer = { configurable: { thread_id: 'thread-writer', user_id: 'ada' } };
    await app.invoke({ input: 'remember: I am allergic to peanuts' }, writer);
    await app.invoke({ input: 'remember: my dog is called Rex' }, writer);
    await app.invoke({ input: 'remember: I work as a nurse at night' }, writer);

    const reader = { configurable: { thread_id: 'thread-reader', user_id: 'ada' } };
    const answer = await app.invoke({ input: 'what is my dog called' }, reader);
    expect(answer.recalled).toEqual(['my dog is called Rex']);
    expect(answer.turns).toBe(1);

    // The threads' checkpoints are their own; the memories are the user's.
    expect((await app.getState(writer)).values).toMatchObject({ turns: 3 });
    expect((await app.getState(reader)).values).toMatchObject({ turns: 1, recalled: ['my dog is called Rex'] });
    const other = await app.invoke({ input: 'what is my dog called' }, { configurable: { thread_id: 'thread-bob', user_id: 'bob' } });
    expect(other.recalled).toEqual([]);
    expect((await store.listNamespaces({ prefix: ['memories'] }))).toEqual([['memories', 'ada']]);
  });
});
