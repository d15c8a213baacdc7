// Two processes appending to one thread at once: no message lost or stored twice, one total order
// that keeps each process's own order, and ids both send stored once.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { createDb, type CairnDb } from '@cairn/db';
import { MessageStore, ThreadManager } from '../src/index.js';
import { spawnFixture } from './fixtures/spawn.js';

let database: TestDatabase;
let db: CairnDb;

beforeAll(async () => {
  database = await createTestDatabase();
  db = await createDb({ url: database.url, directUrl: database.directUrl });
});
afterAll(async () => {
  await db.close();
  await database.drop();
});

it('keeps one total order when two processes append to one thread', async () => {
  const thread = (await new ThreadManager(db).create({ userId: 'u', id: 'chat' })).id;
  const COUNT = 150;
  const children = ['alpha', 'beta'].map((writer) => spawnFixture('./message-appender.ts', [database.url, thread, writer, String(COUNT)]));
  try {
    for (const child of children) await child.waitForLine((line) => line === 'done');
    const exits = await Promise.all(children.map((c) => c.exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
  } finally {
    for (const child of children) child.kill();
  }
  const all = await new MessageStore(db).list(thread, { limit: 1000 });
  const ids = all.map((m) => m.id);
  expect(all).toHaveLength(3 * COUNT);
  expect(new Set(ids).size).toBe(all.length);
  const seqs = all.map((m) => m.seq);
  expect(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!)).toBe(true);
  for (const writer of ['alpha', 'beta']) {
    expect(ids.filter((id) => id.startsWith(`${writer}-`))).toEqual(Array.from({ length: COUNT }, (_, i) => `${writer}-${i}`));
  }
  expect(ids.filter((id) => id.startsWith('shared-')).sort()).toEqual(Array.from({ length: COUNT }, (_, i) => `shared-${i}`).sort());
}, 120_000);
