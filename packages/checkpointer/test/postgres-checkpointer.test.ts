import { afterAll, beforeAll } from '@jest/globals';
import { createTestDb } from '@cairn/db/testing';
import type { CairnDb } from '@cairn/db';
import { PostgresCheckpointer } from '../src/index.js';
import { describeCheckpointer } from '../src/testing.js';

let db: CairnDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db.close();
});

describeCheckpointer({ name: 'PostgresCheckpointer', create: async (options) => new PostgresCheckpointer(db, options) });
