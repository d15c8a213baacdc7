// The one way this package runs several statements atomically on a pooled pg client.
import type pg from 'pg';

/** Runs `fn` between `begin` and COMMIT on a pooled client (ROLLBACK if it throws). */
export async function inClientTransaction<R>(pool: pg.Pool, begin: string, fn: (client: pg.PoolClient) => Promise<R>): Promise<R> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => {
      broken = rollbackError;
    });
    throw error;
  } finally {
    // A client whose ROLLBACK failed is in an unknown state: destroy it rather than reuse it.
    client.release(broken);
  }
}
