// The application in one process on one database: its own Prisma client on its own table in
// public, and Cairn (schema `cairn`) for a LangGraph conversation, typed objects and a document
// search. A customer row points at its Cairn thread by id.
import { AIMessage, HumanMessage } from '@langchain/core/messages';
import { Annotation, END, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { PrismaPg } from '@prisma/adapter-pg';
import { z } from 'zod';
import { PrismaClient } from './generated/prisma/client.js';
import { CairnSaver, createCairn, type Embedder } from './umbrella.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error('DATABASE_URL is not set');

/** Deterministic bag of words: each word adds 1 to a bucket chosen by its hash; the vector is normalised. */
class WordBucketEmbedder implements Embedder {
  readonly dimensions = 384;
  readonly id = 'test:word-buckets@384';

  async embedDocuments(texts: readonly string[]): Promise<number[][]> {
    return texts.map((text) => this.vector(text));
  }

  async embedQuery(text: string): Promise<number[]> {
    return this.vector(text);
  }

  private vector(text: string): number[] {
    const v = new Array<number>(this.dimensions).fill(0);
    for (const word of text.toLowerCase().match(/[a-z]+/g) ?? []) {
      let h = 2166136261;
      for (const ch of word) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
      v[(h >>> 0) % this.dimensions]! += 1;
    }
    const norm = Math.hypot(...v) || 1;
    return v.map((x) => x / norm);
  }
}

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
const cairn = await createCairn({ databaseUrl, db: { schema: 'cairn' }, embedder: new WordBucketEmbedder() });

try {
  const customer = await prisma.customer.create({ data: { id: 'c1', name: 'Ada', cairnThreadId: 'support-c1' } });

  const graph = new StateGraph(MessagesAnnotation)
    .addNode('bot', (s) => ({ messages: [new AIMessage(`echo: ${s.messages.at(-1)?.text ?? ''}`)] }))
    .addEdge(START, 'bot')
    .addEdge('bot', END)
    .compile({ checkpointer: new CairnSaver(cairn.checkpointer) });
  const thread = { configurable: { thread_id: customer.cairnThreadId } };
  await graph.invoke({ messages: [new HumanMessage('hi')] }, thread);
  const resumed = await graph.invoke({ messages: [new HumanMessage('again')] }, thread);

  const notes = cairn.objects.collection('CustomerNote', z.object({ customerId: z.string(), text: z.string() }));
  await notes.save('note-1', { customerId: customer.id, text: 'prefers email' });
  const note = await notes.get('note-1');

  const docs = await cairn.rag.collection('help', { dimensions: 384, metric: 'cosine' });
  await docs.upsert([
    { id: 'd1', content: 'Cairns mark trails in the mountains.' },
    { id: 'd2', content: 'Bread rises in a warm kitchen.' },
  ]);
  const hits = await docs.search('trails in the mountains', { k: 1 });

  const read = await prisma.customer.findUniqueOrThrow({ where: { id: 'c1' } });
  console.log(
    JSON.stringify({
      customer: { id: read.id, name: read.name, cairnThreadId: read.cairnThreadId },
      conversation: resumed.messages.map((m) => [m.getType(), m.text]),
      note: note.data,
      topHit: hits[0]?.id,
      health: (await cairn.health()).status,
      cairnSchema: cairn.db.schema,
    }),
  );
} finally {
  await cairn.close();
  await prisma.$disconnect();
}
