import { afterAll, beforeAll } from '@jest/globals';
import type { CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { CairnStore } from '../src/index.js';
import { describeStore } from '../src/testing.js';

let db: CairnDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db.close();
});

describeStore({ name: 'CairnStore on PostgreSQL', create: async (options) => new CairnStore(db, options) });
