// Against the real PostgreSQL (`pnpm test` starts it): CAIRN_TEST_ADMIN_URL, else the default admin URL.
import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DEFAULT_ADMIN_URL } from './env.js';
import { scratchDatabase } from './scratch-database.js';

const adminUrl = process.env.CAIRN_TEST_ADMIN_URL ?? DEFAULT_ADMIN_URL;

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

describe('scratchDatabase', () => {
  it('creates an empty database with its settings, and drops it even with a connection open', async () => {
    const db = await scratchDatabase({ adminUrl, prefix: 'cairn_kit_test', settings: { synchronous_commit: 'off' } });
    expect(db.name).toMatch(/^cairn_kit_test_\d+_[0-9a-f]{6}$/);
    const [row] = await query<{ db: string; sync: string }>(db.url, `SELECT current_database() AS db, current_setting('synchronous_commit') AS sync`);
    expect(row).toEqual({ db: db.name, sync: 'off' });
    const open = new pg.Client({ connectionString: db.url });
    open.on('error', () => undefined); // the forced drop terminates it
    await open.connect();
    await db.drop();
    await db.drop();
    expect(await query(adminUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [db.name])).toEqual([]);
    await open.end().catch(() => undefined);
  });

  it('refuses a prefix or a setting name that would need quoting', async () => {
    await expect(scratchDatabase({ adminUrl, prefix: 'Bad-Name' })).rejects.toThrow(RangeError);
    await expect(scratchDatabase({ adminUrl, prefix: 'ok', settings: { 'x; DROP': '1' } })).rejects.toThrow(RangeError);
  });
});
