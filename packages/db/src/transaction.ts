// The one way Cairn borrows a pooled connection and runs a transaction on it. Every package goes
// through here, so three rules hold everywhere:
// - a checked-out client always has an 'error' listener (node-postgres emits 'error' on a client
//   whose connection drops, and with nobody listening that is an uncaught exception);
// - a client whose connection failed, or whose ROLLBACK failed, is destroyed, never returned to
//   the pool;
// - a lost COMMIT is reported as such (its outcome is unknown) and retried only when the caller
//   says the transaction is idempotent.
import type pg from 'pg';
import { RetryExhausted, TRANSIENT, isTransientError, toStorageError, withRetry, type CairnError, type RetrySettings } from '@cairn/core';

/** Isolation levels a transaction may ask for. */
export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';
export const ISOLATION_LEVELS: readonly IsolationLevel[] = ['read committed', 'repeatable read', 'serializable'];

/** What a borrowed client may ask of its lease. */
export interface ClientLease {
  /** Destroy the connection instead of returning it (it carries session state, say). */
  discard(): void;
  /** The connection failed while borrowed (its 'error' event, or a failed ROLLBACK). */
  readonly failed: Error | undefined;
}

/**
 * Borrows a client for `fn` and gives it back: destroyed when its connection failed or `fn`
 * asked for it, returned to the pool otherwise.
 */
export async function withPooledClient<R>(pool: pg.Pool, fn: (client: pg.PoolClient, lease: ClientLease) => Promise<R>): Promise<R> {
  const client = await pool.connect();
  let failed: Error | undefined;
  let discard = false;
  const onError = (error: Error) => {
    failed ??= error;
  };
  client.on('error', onError);
  const lease: ClientLease = {
    discard: () => {
      discard = true;
    },
    get failed() {
      return failed;
    },
  };
  try {
    return await fn(client, lease);
  } finally {
    // Keep listening until the client is gone: a late 'error' on a destroyed client must not escape.
    if (failed || discard) {
      client.release(failed ?? true);
    } else {
      client.off('error', onError);
      client.release();
    }
  }
}

/** Options of a transaction. */
export interface TransactionOptions {
  /** @defaultValue 'read committed' */
  isolation?: IsolationLevel;
  /** @defaultValue false */
  readOnly?: boolean;
  /**
   * Settings for this transaction only (`SET LOCAL`), sent in one round trip with BEGIN: `{
   * 'hnsw.iterative_scan': 'relaxed_order' }`. Names and values are Cairn's own, checked against
   * strict patterns (a dotted identifier; letters, digits, `_ . -`), never user input.
   */
  settings?: Readonly<Record<string, string>>;
}

const SETTING_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;
const SETTING_VALUE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Errors of `COMMIT` whose outcome is unknown: the connection went while the commit was in flight. */
export class CommitOutcomeUnknown extends Error {
  override readonly name = 'CommitOutcomeUnknown';
  readonly [TRANSIENT] = false;
  constructor(readonly original: unknown) {
    super(`The connection was lost during COMMIT; the transaction may or may not have committed: ${(original as Error)?.message ?? String(original)}`, {
      cause: original,
    });
  }
}

function beginStatement(options: TransactionOptions): string {
  const isolation = options.isolation ?? 'read committed';
  if (!ISOLATION_LEVELS.includes(isolation)) throw new TypeError(`Unknown isolation level ${JSON.stringify(isolation)}`);
  const settings = Object.entries(options.settings ?? {}).map(([name, value]) => {
    if (!SETTING_NAME.test(name) || !SETTING_VALUE.test(value)) throw new TypeError(`Not a transaction setting: ${JSON.stringify(name)} = ${JSON.stringify(value)}`);
    return `; SET LOCAL ${name} = '${value}'`;
  });
  return `BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}${options.readOnly ? ' READ ONLY' : ''}${settings.join('')}`;
}

/**
 * Runs `fn` between BEGIN and COMMIT on a borrowed client; ROLLBACK if it throws. Errors come back
 * as thrown (driver errors raw), except a COMMIT lost with its connection, which becomes
 * CommitOutcomeUnknown. CairnDb.transaction adds the retry and typed errors on top.
 */
export function runTransaction<R>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<R>, options: TransactionOptions = {}): Promise<R> {
  const begin = beginStatement(options);
  return withPooledClient(pool, async (client, lease) => {
    await client.query(begin);
    let result: R;
    try {
      result = await fn(client);
    } catch (error) {
      if (!lease.failed) {
        // A client whose ROLLBACK failed is in an unknown state: the lease destroys it.
        await client.query('ROLLBACK').catch(() => lease.discard());
      }
      throw error;
    }
    try {
      await client.query('COMMIT');
    } catch (error) {
      if (lease.failed || isTransientError(error)) throw new CommitOutcomeUnknown(error);
      throw error;
    }
    return result;
  });
}

/** Runs `operation` with the retry policy and maps whatever it finally throws to a typed Cairn error. */
export async function retrying<T>(
  operation: (attempt: number) => Promise<T>,
  settings: RetrySettings,
  context: { operation?: string; onRetry?: (error: unknown, attempt: number) => void; mapError?: (error: unknown, attempts: number) => unknown } = {},
): Promise<T> {
  try {
    return (await withRetry(operation, settings, { ...(context.onRetry ? { onRetry: context.onRetry } : {}) })).value;
  } catch (caught) {
    const { error, attempts } = caught instanceof RetryExhausted ? caught : { error: caught, attempts: 1 };
    const mapped = context.mapError?.(error, attempts) ?? error;
    throw storageError(mapped, attempts, context.operation);
  }
}

function storageError(error: unknown, attempts: number, operation: string | undefined): CairnError {
  const where = operation ? { operation } : {};
  if (error instanceof CommitOutcomeUnknown) return toStorageError(error.original, { attempts, ...where, details: { commitOutcomeUnknown: true } });
  return toStorageError(error, { attempts, ...where });
}
