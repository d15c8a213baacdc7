// Where this package's statements run, and which failures are worth another attempt. Outside a
// caller's transaction they run on the pool through CairnDb.run, so driver errors come back as
// typed Cairn errors: a read is retried after any transient failure; a write only while it provably
// has not reached the server (no connection could be had, the client was known to be broken, or the
// server rolled it back with a serialization failure or deadlock). A write whose connection was
// lost while it was in flight may have committed, and running it again would apply it twice (an
// upsert bumps the version), so it fails at once: StorageUnavailableError with
// `details.commitOutcomeUnknown: true`. Inside a transaction statements run on its client, and the
// transaction (CairnDb.transaction) decides about retries and maps the errors.
import type pg from 'pg';
import { TRANSIENT, isConnectionError } from '@cairn/core';
import { CommitOutcomeUnknown, runTransaction, type CairnDb, type TransactionOptions } from '@cairn/db';

/** Options of one statement. */
export interface StatementOptions {
  /** Maps a driver error that means something to the caller (a unique violation, say); pool only. */
  mapError?: (error: unknown) => unknown;
}

/** Runs statements: on the pool (retried as above) or on the client of an open transaction. */
export interface Executor {
  /** A statement that changes nothing. `operation` names it in errors, e.g. `object load`. */
  read<R extends pg.QueryResultRow = pg.QueryResultRow>(operation: string, statement: pg.QueryConfig, options?: StatementOptions): Promise<pg.QueryResult<R>>;
  /** A statement that writes: sent at most once outside transactions. */
  write<R extends pg.QueryResultRow = pg.QueryResultRow>(operation: string, statement: pg.QueryConfig, options?: StatementOptions): Promise<pg.QueryResult<R>>;
}

// node-postgres refuses a query on a client it already knows to be broken, without sending it.
const NOT_SENT = /is not queryable/;

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Statements on `db`'s pool, outside any caller's transaction. */
export function poolExecutor(db: CairnDb): Executor {
  return {
    read: (operation, statement, options = {}) =>
      db.run(() => db.pool.query(statement), { operation, ...(options.mapError ? { mapError: options.mapError } : {}) }),
    write: <R extends pg.QueryResultRow>(operation: string, statement: pg.QueryConfig, options: StatementOptions = {}) =>
      db.run(
        () =>
          db.withClient(async (client, lease) => {
            try {
              return await client.query<R>(statement);
            } catch (error) {
              if (!NOT_SENT.test(errorMessage(error)) && (lease.failed !== undefined || isConnectionError(error))) throw new CommitOutcomeUnknown(error);
              throw error;
            }
          }),
        { operation, ...(options.mapError ? { mapError: options.mapError } : {}) },
      ),
  };
}

/** Statements on an open transaction's client; `assertOpen` refuses them once it has ended. */
export function clientExecutor(client: pg.ClientBase, assertOpen: () => void = () => undefined): Executor {
  const run = async <R extends pg.QueryResultRow>(_operation: string, statement: pg.QueryConfig): Promise<pg.QueryResult<R>> => {
    assertOpen();
    return client.query<R>(statement);
  };
  return { read: run, write: run };
}

/** A failure after the caller's callback began: never retried (the callback may have side effects). */
class AfterStart {
  readonly [TRANSIENT] = false;
  constructor(readonly error: unknown) {}
}

/**
 * Runs `fn` in a transaction at most once: retried only while no connection could be had or BEGIN
 * failed, i.e. before `fn` started. Errors are mapped as CairnDb.transaction maps them.
 */
export function transactionOnce<R>(db: CairnDb, fn: (client: pg.PoolClient) => Promise<R>, options: TransactionOptions & { operation: string }): Promise<R> {
  const { operation, ...tx } = options;
  return db.run(
    async () => {
      let started = false;
      try {
        return await runTransaction(
          db.pool,
          (client) => {
            started = true;
            return fn(client);
          },
          tx,
        );
      } catch (error) {
        throw started ? new AfterStart(error) : error;
      }
    },
    { operation, mapError: (error) => (error instanceof AfterStart ? error.error : error) },
  );
}

/** True for an error after which a write may or may not have been applied. */
export function outcomeUnknown(error: unknown): boolean {
  const details = typeof error === 'object' && error !== null ? (error as { details?: { commitOutcomeUnknown?: unknown } }).details : undefined;
  return details?.commitOutcomeUnknown === true;
}
