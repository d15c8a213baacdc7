import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, createTestDb, throughPgBouncer, type TestDatabase } from '@cairn/db/testing';
import { createDb, type CairnDb } from '@cairn/db';
import { PostgresCheckpointer, StorageError, StorageUnavailableError } from '../src/index.js';

let db: CairnDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db.close();
});

const large = { text: 'a state that compresses well '.repeat(3000) };

async function storedFormat(threadId: string): Promise<{ state_format: string; size: number }> {
  const { rows } = await db.pool.query<{ state_format: string; size: number }>(
    `SELECT state_format, octet_length(state) AS size FROM checkpoints WHERE tenant_id = 'default' AND thread_id = $1`,
    [threadId],
  );
  return rows[0]!;
}

describe('PostgresCheckpointer storage', () => {
  it('stores large states compressed, with the compression in state_format', async () => {
    const gzip = new PostgresCheckpointer(db, { compression: { algorithm: 'gzip', thresholdBytes: 16_384 } });
    await gzip.put('gzip', large);
    expect(await storedFormat('gzip')).toMatchObject({ state_format: 'json-v1+gzip' });
    expect((await storedFormat('gzip')).size).toBeLessThan(5000);

    const brotli = new PostgresCheckpointer(db, { compression: { algorithm: 'brotli', thresholdBytes: 1024 } });
    await brotli.put('brotli', large);
    expect((await storedFormat('brotli')).state_format).toBe('json-v1+br');

    // Rows written with other settings stay readable.
    const none = new PostgresCheckpointer(db, { compression: { algorithm: 'none', thresholdBytes: 0 } });
    expect((await none.get('gzip'))?.state).toEqual(large);
    expect((await none.get('brotli'))?.state).toEqual(large);
    await none.put('plain', large);
    expect((await storedFormat('plain')).state_format).toBe('json-v1');
  });

  it('creates and owns a database handle with fromUrl', async () => {
    const database: TestDatabase = await createTestDatabase();
    try {
      const cp = await PostgresCheckpointer.fromUrl(database.url, { tenantId: 'owned' });
      await cp.put('t', 1);
      expect((await cp.healthCheck()).ok).toBe(true);
      await cp.close();
      expect(cp.db.pool.ended).toBe(true);
    } finally {
      await database.drop();
    }
  });

  // Behind PgBouncer a dropped database is a wait for a server connection (query_wait_timeout), not an error.
  (throughPgBouncer ? it.skip : it)('reports a database that went away as StorageUnavailableError', async () => {
    const database = await createTestDatabase();
    const gone = await createDb({ url: database.url, pool: { max: 1, connectionTimeoutMs: 2000 } });
    const cp = new PostgresCheckpointer(gone, { retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 } });
    await database.drop();
    const error = await cp.get('t').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect((error as StorageUnavailableError).code).toBe('STORAGE_UNAVAILABLE');
    expect((await cp.healthCheck()).ok).toBe(false);
    await cp.close();
    await gone.close();
  });

  it('names missing migrations', async () => {
    const database = await createTestDatabase({ migrated: false });
    const bare = await createDb({ url: database.url, pool: { max: 1 } });
    try {
      const error = await new PostgresCheckpointer(bare).get('t').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StorageError);
      expect((error as StorageError).code).toBe('SCHEMA_MISSING');
    } finally {
      await bare.close();
      await database.drop();
    }
  });
});
