import { createDb } from '@cairn/db';
import { CairnStore, WordHashEmbeddings } from '@cairn/store';

// No DATABASE_URL: the embedded PostgreSQL (PGlite + pgvector). `migrate: true` applies Cairn's migrations.
const db = await createDb({ url: process.env.DATABASE_URL, migrate: true });
const store = new CairnStore(db, {
  tenantId: 'acme',
  // Any LangChain Embeddings (OpenAIEmbeddings, ...) or a function from texts to vectors; this one is a toy.
  index: { dims: 64, embed: new WordHashEmbeddings(64), fields: ['text'] },
  ttl: { defaultTtl: 60 * 24 * 30, refreshOnRead: true, sweepIntervalMinutes: 60 }, // minutes
});
await store.start(); // the HNSW index for 64 dimensions (once per database), and the sweeper

const ns = ['memories', 'user-1'];
await store.put(ns, 'dog', { text: 'my dog is called Rex', kind: 'fact', year: 2024 });
await store.put(ns, 'food', { text: 'allergic to peanuts', kind: 'fact', year: 2025 });
await store.put(ns, 'trip', { text: 'flew to Lisbon in May', kind: 'episode', year: 2025 }, undefined, { ttl: 60 });

const [best] = await store.search(ns, { query: 'what is my dog called', limit: 1 });
console.log(best?.key, best?.score?.toFixed(2)); // dog 0.80
console.log((await store.search(ns, { filter: { kind: 'fact', year: { $gte: 2025 } } })).map((i) => i.key)); // [ 'food' ]
console.log(await store.listNamespaces({ prefix: ['memories'] })); // [ [ 'memories', 'user-1' ] ]

// In LangGraph: graph.compile({ checkpointer, store }); nodes reach it as config.store.
await store.close();
await db.close();
