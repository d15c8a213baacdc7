// A private PostgreSQL stopped under a running store, session and thread manager: every call fails
// with StorageUnavailableError (after the retries, never a raw ECONNREFUSED or a Prisma error), and
// once the server is back the same instances work again, without being recreated.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { StorageUnavailableError } from '@cairn/core';
import { createDb, type CairnDb } from '@cairn/db';
import { startPostgresServer, type DisposablePostgresServer } from '@cairn/db/testing';
import { createObjectStore, SessionManager, ThreadManager, type ObjectStore } from '../src/index.js';

const Note = z.object({ text: z.string() });
const ATTEMPTS = 3;

let server: DisposablePostgresServer;
let db: CairnDb;
let store: ObjectStore;
let sessions: SessionManager;
let threads: ThreadManager;
const uncaught: unknown[] = [];
const record = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  process.on('uncaughtException', record);
  server = await startPostgresServer();
  db = await createDb({ url: server.url, retry: { maxAttempts: ATTEMPTS, initialDelayMs: 1, maxDelayMs: 5 }, onConnectionError: () => undefined });
  store = createObjectStore(db, { tenantId: 'outage' });
  sessions = new SessionManager(db, { tenantId: 'outage' });
  threads = new ThreadManager(db, { tenantId: 'outage' });
}, 60_000);

afterAll(async () => {
  await store.close();
  await sessions.close();
  await db.close();
  await server.destroy();
  process.off('uncaughtException', record);
});

describe('a stopped PostgreSQL', () => {
  it('fails every call with StorageUnavailableError, and the same instances work again after the restart', async () => {
    const notes = store.collection('Note', Note);
    await notes.save('n1', { text: 'before' });
    const session = await sessions.create({ userId: 'u1' });
    const thread = await threads.create({ userId: 'u1', sessionId: session.id });
    const snapshot = await store.exportSnapshot();

    const calls: Array<[string, () => Promise<unknown>]> = [
      ['load', () => notes.load('n1')],
      ['save', () => notes.save('n2', { text: 'during' })],
      ['save with expectedVersion', () => notes.save('n1', { text: 'during' }, { expectedVersion: 1 })],
      ['update', () => notes.update('n1', (d) => ({ text: `${d.text}!` }))],
      ['patch', () => notes.patch('n1', [{ op: 'replace', path: '/text', value: 'patched' }])],
      ['exists', () => notes.exists('n1')],
      ['find', () => notes.find({ where: { text: 'before' } })],
      ['count', () => notes.count()],
      ['versions', () => notes.versions('n1')],
      ['loadVersion', () => notes.loadVersion('n1', 1)],
      ['transaction', () => store.transaction(async (tx) => tx.collection(notes).load('n1'))],
      ['exportSnapshot', () => store.exportSnapshot()],
      ['importSnapshot', () => store.forTenant('outage-copy').importSnapshot(snapshot)],
      ['session create', () => sessions.create({ userId: 'u2' })],
      ['session get', () => sessions.get(session.id)],
      ['session update', () => sessions.update(session.id, { mergeMetadata: { step: 2 } })],
      ['session list', () => sessions.listByUser('u1')],
      ['thread create', () => threads.create({ userId: 'u1' })],
      ['thread get', () => threads.get(thread.id)],
      ['thread update', () => threads.update(thread.id, { title: 'renamed' })],
      ['thread list', () => threads.listBySession(session.id)],
      ['delete', () => notes.delete('n1')],
    ];

    await server.stop();
    for (const [name, call] of calls) {
      const error = await call().then(
        () => new Error(`${name} succeeded with the server stopped`),
        (e: unknown) => e,
      );
      expect([name, error]).toEqual([name, expect.any(StorageUnavailableError)]);
      // Nothing was sent, so even the writes were retried.
      expect([name, (error as StorageUnavailableError).attempts]).toEqual([name, ATTEMPTS]);
    }

    await server.start();
    for (const [name, call] of calls) {
      await expect(call().then(() => name)).resolves.toBe(name);
    }
    expect(await notes.load('n1')).toBeNull();
    expect((await notes.get('n2')).data.text).toBe('during');
    expect((await sessions.require(session.id)).metadata).toEqual({ step: 2 });
    expect((await threads.require(thread.id)).title).toBe('renamed');
    expect(uncaught).toEqual([]);
  });
});
