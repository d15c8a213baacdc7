// The suite on the embedded database: PGlite (PostgreSQL 18 in WASM) with pgvector 0.8.7, migrated
// in memory, one instance for the whole file.
import { afterAll, beforeAll } from '@jest/globals';
import { createDb, type CairnDb } from '@cairn/db';
import { CairnStore } from '../src/index.js';
import { describeStore } from '../src/testing.js';

let db: CairnDb;
beforeAll(async () => {
  db = await createDb({ embedded: { inMemory: true } });
}, 120_000);
afterAll(async () => {
  await db.close();
});

describeStore({ name: 'CairnStore on PGlite (embedded)', create: async (options) => new CairnStore(db, options) });
