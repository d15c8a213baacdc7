// createDb({ pool }): an application's own pg.Pool, on real PostgreSQL. Cairn uses it, adds one
// 'error' listener beside the application's, takes it off on close(), and never ends the pool.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createDb } from '@cairn/db';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

describe('createDb with an application pool', () => {
  it('uses the pool, and leaves it answering queries after close()', async () => {
    const pool = new pg.Pool({ connectionString: database.directUrl, max: 3 });
    const appErrors: Error[] = [];
    const onAppError = (error: Error) => appErrors.push(error);
    pool.on('error', onAppError);
    try {
      const db = await createDb({ pool });
      expect(db.pool).toBe(pool);
      const session = await db.prisma.session.create({ data: { userId: 'pool-user' } });
      const { rows } = await db.pool.query<{ user_id: string }>('SELECT user_id FROM sessions WHERE id = $1', [session.id]);
      expect(rows[0]?.user_id).toBe('pool-user');
      expect(await db.epoch()).toMatch(/^[0-9a-f-]{36}$/);
      expect(pool.listenerCount('error')).toBeGreaterThanOrEqual(2);
      await db.close();

      expect(pool.ended).toBe(false);
      expect(pool.listeners('error')).toEqual([onAppError]);
      const after = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions');
      expect(after.rows[0]?.n).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('reports a dropped idle connection to onConnectionError while open, and to the application\'s own listener throughout', async () => {
    const pool = new pg.Pool({ connectionString: database.directUrl, max: 1 });
    const seenByApp: string[] = [];
    pool.on('error', (error) => seenByApp.push(error.message));
    const seenByCairn: string[] = [];
    try {
      const db = await createDb({ pool, onConnectionError: (error) => seenByCairn.push(error.message) });
      pool.emit('error', new Error('first drop'), undefined);
      expect(db.poolStats().droppedConnections).toBe(1);
      await db.close();
      pool.emit('error', new Error('second drop'), undefined);
      expect(seenByCairn).toEqual(['first drop']);
      expect(seenByApp).toEqual(['first drop', 'second drop']);
    } finally {
      await pool.end();
    }
  });

  it('migrates through the pool\'s own connection settings when asked', async () => {
    const empty = await createTestDatabase({ migrated: false });
    const pool = new pg.Pool({ connectionString: empty.directUrl, max: 2 });
    try {
      const db = await createDb({ pool, migrate: true });
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL`);
      expect(rows[0]?.n).toBeGreaterThan(0);
      await db.close();
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    } finally {
      await pool.end();
      await empty.drop();
    }
  });

  it('refuses a url beside a pool, and a pool-shaped object from another node-postgres', async () => {
    const pool = new pg.Pool({ connectionString: database.directUrl });
    try {
      await expect(createDb({ pool, url: database.directUrl })).rejects.toMatchObject({ code: 'POOL_AND_URL', category: 'invalid_input' });
      // What another copy of `pg` makes: the same methods, not an instance of this copy's Pool.
      const foreign = {
        connect: () => pool.connect(),
        query: (text: string) => pool.query(text),
        end: () => pool.end(),
        on: () => foreign,
        off: () => foreign,
        totalCount: 0,
      };
      await expect(createDb({ pool: foreign as unknown as pg.Pool })).rejects.toMatchObject({ code: 'POOL_FROM_ANOTHER_PG', category: 'invalid_input' });
      expect(pool.ended).toBe(false);
    } finally {
      await pool.end();
    }
  });
});
