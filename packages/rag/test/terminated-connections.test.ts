// A connection terminated (pg_terminate_backend) while @cairn/rag holds it in a transaction: a
// multi-batch upsert whose second batch waits on a row lock, and a bulk load (rebuildIndexes)
// whose embedder is still working on its second batch. The process must survive (node-postgres
// emits 'error' on the dead client, which nothing may leave unheard), and the write is all or
// nothing: retried to completion with every document written once, or a typed error and no rows.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { StorageUnavailableError } from '@cairn/core';
import { createDb, type CairnDb } from '@cairn/db';
import { createTestDb } from '@cairn/db/testing';
import { createRag, IngestError, LocalHashEmbedder, MIGRATION_INDEX_NAME, type Embedder, type Rag } from '../src/index.js';
import { recordUncaughtExceptions } from './uncaught-exceptions.js';

const FAST_RETRY = { initialDelayMs: 1, maxDelayMs: 5 };
const TENANT = 'terminated';

let db: CairnDb;
/** The same database without retries: what a caller sees when the one attempt is lost. */
let noRetryDb: CairnDb;
let admin: pg.Client;
const uncaught = recordUncaughtExceptions();

beforeAll(async () => {
  db = await createTestDb({ retry: { maxAttempts: 4, ...FAST_RETRY }, onConnectionError: () => undefined });
  noRetryDb = await createDb({ url: db.connectionString(), retry: { maxAttempts: 1, ...FAST_RETRY }, onConnectionError: () => undefined });
  admin = new pg.Client(db.clientConfig());
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await noRetryDb?.close();
  await db?.close();
  uncaught.stop();
});

beforeEach(() => uncaught.clear());

/** Polls pg_stat_activity (this database, other sessions) until exactly one backend matches `condition`. */
async function soleBackend(condition: string): Promise<number> {
  for (let poll = 0; poll < 500; poll += 1) {
    const found = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND ${condition}`,
    );
    if (found.rows.length === 1) return found.rows[0]!.pid;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no single backend where ${condition}`);
}

/** Ends the backend and waits (up to 5 s) until it has gone. */
async function terminateBackend(pid: number): Promise<void> {
  const { rows } = await admin.query<{ gone: boolean }>('SELECT pg_terminate_backend($1, 5000) AS gone', [pid]);
  expect(rows[0]!.gone).toBe(true);
}

async function expectProcessSurvived(): Promise<void> {
  expect(await uncaught.settle()).toEqual([]);
}

const documents = (prefix: string, count: number, version: string) =>
  Array.from({ length: count }, (_, i) => ({ id: `${prefix}-${String(i).padStart(3, '0')}`, content: `${prefix} document ${i}, ${version}` }));

async function storedRows(rag: Rag, collection: string): Promise<{ id: string; content: string }[]> {
  const { rows } = await db.pool.query<{ id: string; content: string }>(
    'SELECT id, content FROM documents WHERE tenant_id = $1 AND collection = $2 ORDER BY id',
    [rag.tenantId, collection],
  );
  return rows;
}

describe('a multi-batch upsert whose connection is terminated while its second batch waits on a row lock', () => {
  /**
   * Holds the row lock on `id` in a session of its own (the admin session must stay outside
   * transactions: inside one, pg_stat_activity would answer from a snapshot), until the returned
   * function ends that session.
   */
  async function lockRow(collection: string, id: string): Promise<() => Promise<void>> {
    const locker = new pg.Client(db.clientConfig());
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM documents WHERE tenant_id = $1 AND collection = $2 AND id = $3 FOR UPDATE', [TENANT, collection, id]);
    return () => locker.end();
  }

  /** Starts the upsert of 100 documents in batches of 50, terminates it once batch 2 waits, and returns its outcome. */
  async function upsertCutInBatchTwo(rag: Rag, collection: string) {
    const docs = await rag.collection(collection, { batchSize: 50 });
    await docs.upsert([{ id: `${collection}-075`, content: 'the old version' }]);
    const release = await lockRow(collection, `${collection}-075`);
    const outcome = docs.upsert(documents(collection, 100, 'new')).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    try {
      await terminateBackend(await soleBackend(`wait_event_type = 'Lock' AND query LIKE 'WITH written AS%'`));
    } finally {
      await release();
    }
    return outcome;
  }

  it('survives, retries the whole transaction, and writes every document once', async () => {
    const rag = createRag(db, { tenantId: TENANT, embedder: new LocalHashEmbedder() });
    const outcome = await upsertCutInBatchTwo(rag, 'retried');
    await expectProcessSurvived();
    expect(outcome).toEqual({ result: { upserted: 100, inserted: 99, updated: 1, unchanged: 0, embedded: 100 } });
    const rows = await storedRows(rag, 'retried');
    expect(rows.map((r) => r.id)).toEqual(documents('retried', 100, 'new').map((d) => d.id));
    expect(rows.every((r) => r.content.endsWith(', new'))).toBe(true);
  });

  it('without retries, fails with StorageUnavailableError and leaves the first batch unwritten', async () => {
    const rag = createRag(noRetryDb, { tenantId: TENANT, embedder: new LocalHashEmbedder() });
    const outcome = await upsertCutInBatchTwo(rag, 'once');
    await expectProcessSurvived();
    expect('error' in outcome && outcome.error).toBeInstanceOf(StorageUnavailableError);
    expect(await storedRows(rag, 'once')).toEqual([{ id: 'once-075', content: 'the old version' }]);
    // The pool still works: the dead client was destroyed, not handed out again.
    expect(await (await rag.collection('once')).count()).toBe(1);
  });
});

/** LocalHashEmbedder whose second embedDocuments call waits until `release()`. */
class SecondCallWaits implements Embedder {
  readonly #inner = new LocalHashEmbedder();
  readonly dimensions = this.#inner.dimensions;
  readonly id = 'second-call-waits';
  #calls = 0;
  #open!: () => void;
  #arrived!: () => void;
  readonly #gate = new Promise<void>((resolve) => {
    this.#open = resolve;
  });
  /** Resolves when the second call has begun to wait. */
  readonly secondCall = new Promise<void>((resolve) => {
    this.#arrived = resolve;
  });

  release(): void {
    this.#open();
  }

  async embedDocuments(texts: readonly string[]): Promise<number[][]> {
    this.#calls += 1;
    if (this.#calls === 2) {
      this.#arrived();
      await this.#gate;
    }
    return this.#inner.embedDocuments(texts);
  }

  embedQuery(text: string): Promise<number[]> {
    return this.#inner.embedQuery(text);
  }
}

describe('a bulk load (rebuildIndexes) whose connection is terminated while it is idle in transaction', () => {
  it('survives, fails with IngestError caused by StorageUnavailableError, writes nothing and keeps the indexes', async () => {
    const embedder = new SecondCallWaits();
    const rag = createRag(db, { tenantId: TENANT, embedder });
    const docs = await rag.collection('bulk');
    const load = docs.upsertStream(documents('bulk', 100, 'loaded'), { rebuildIndexes: true, batchSize: 50, concurrency: 1 }).catch((error: unknown) => error);
    try {
      // Batch 1 is written; the transaction waits, idle, for batch 2's vectors.
      await embedder.secondCall;
      await terminateBackend(await soleBackend(`state = 'idle in transaction'`));
    } finally {
      embedder.release();
    }
    const error = await load;
    await expectProcessSurvived();
    expect(error).toBeInstanceOf(IngestError);
    expect(error).toMatchObject({ upserted: 0, category: 'unavailable' });
    expect((error as IngestError).cause).toBeInstanceOf(StorageUnavailableError);
    expect(await storedRows(rag, 'bulk')).toEqual([]);
    expect((await rag.listIndexes()).map((i) => i.name)).toContain(MIGRATION_INDEX_NAME);
    // Loading again (the source re-read by the caller) works on the same Rag.
    const again = await docs.upsertStream(documents('bulk', 100, 'loaded'), { rebuildIndexes: true, batchSize: 50 });
    expect(again).toMatchObject({ upserted: 100, inserted: 100, batches: 2 });
  });
});
