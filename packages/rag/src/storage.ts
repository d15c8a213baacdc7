// How @cairn/rag reaches PostgreSQL. Every statement runs through CairnDb.run and every
// transaction through @cairn/db's runTransaction, so a borrowed client always has an 'error'
// listener (a connection lost mid-transaction cannot crash the process), transient failures are
// retried with core's one policy, and what finally fails is a typed Cairn error: rag's own where
// the SQLSTATE means something to rag (a vector of another dimension than expected, the documents
// table is gone), otherwise core's StorageUnavailableError or StorageError with `details.sqlstate`.
import type pg from 'pg';
import { MIGRATE_HINT, TRANSIENT, errorCode } from '@cairn/core';
import { CommitOutcomeUnknown, runTransaction, type CairnDb, type ClientLease } from '@cairn/db';
import { DimensionMismatchError, RagSchemaError } from './errors.js';

/** What rag's SQL helpers need of a pool or a transaction's client. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/** How a transaction may be retried after a transient failure. */
export type RetryMode =
  /**
   * Run again from the start, even after a COMMIT whose outcome is unknown: for work whose input
   * is in memory and whose writes give the same rows when applied twice (upserts, IF [NOT] EXISTS DDL).
   */
  | 'replay'
  /** Retried only until the callback starts (it reads a stream that cannot be read twice); after that, one attempt. */
  | 'until-started';

// pgvector's refusals of a vector of another length than expected (SQLSTATE 22000): in a cast
// ("expected 384 dimensions, not 256") and in a distance ("different vector dimensions 384 and 256").
const DIMENSION_MESSAGES = [/expected (\d+) dimensions, not (\d+)/, /different (?:vector|halfvec) dimensions (\d+) and (\d+)/];

/** A failure inside a transaction that must not run twice: carried past the retry, then unwrapped. */
class AfterStart {
  readonly [TRANSIENT] = false;
  constructor(readonly error: unknown) {}
}

/** The database as a Rag and its collections use it: retried, mapped, one transaction helper. */
export class RagStorage {
  readonly pool: CairnDb['pool'];
  readonly #db: CairnDb;
  readonly #onSchemaChanged: () => void;

  /** `onSchemaChanged` runs when PostgreSQL's answer shows the table is not what the Rag read (it forgets its cached facts). */
  constructor(db: CairnDb, onSchemaChanged: () => void) {
    this.#db = db;
    this.pool = db.pool;
    this.#onSchemaChanged = onSchemaChanged;
  }

  /**
   * Runs `fn` with the retry policy: again after a transient failure, so only for work that is
   * safe to repeat (reads, idempotent writes). `operation` names it in errors (`search`, `delete`).
   */
  run<R>(operation: string, fn: (attempt: number) => Promise<R>): Promise<R> {
    return this.#db.run(fn, { operation, mapError: (error) => this.#mapError(error) });
  }

  /** One statement on the pool, through run(). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(operation: string, text: string, values?: readonly unknown[]): Promise<pg.QueryResult<R>> {
    return this.run(operation, () => this.pool.query<R>(text, values as unknown[] | undefined));
  }

  /** A connection of its own, ended afterwards (see CairnDb.withSession); use inside run(). */
  withSession<R>(fn: (client: pg.Client) => Promise<R>): Promise<R> {
    return this.#db.withSession(fn);
  }

  /** Borrows a client (see CairnDb.withClient); use inside run(). */
  withClient<R>(fn: (client: pg.PoolClient, lease: ClientLease) => Promise<R>): Promise<R> {
    return this.#db.withClient(fn);
  }

  /** Runs `fn` in one transaction (runTransaction), retried as `retry` says. */
  transaction<R>(operation: string, fn: (client: pg.PoolClient) => Promise<R>, retry: RetryMode): Promise<R> {
    let started = false;
    return this.#db.run(
      async () => {
        try {
          return await runTransaction(this.pool, (client) => {
            started = true;
            return fn(client);
          });
        } catch (error) {
          // Applying a replayable transaction twice writes the same rows: a lost COMMIT is just transient.
          if (retry === 'replay') throw error instanceof CommitOutcomeUnknown ? error.original : error;
          throw started ? new AfterStart(error) : error;
        }
      },
      { operation, mapError: (error) => this.#mapError(error instanceof AfterStart ? error.error : error) },
    );
  }

  /** Driver errors that mean something to rag, as rag's errors; anything else unchanged (core maps it). */
  #mapError(error: unknown): unknown {
    const code = errorCode(error);
    const message = error instanceof Error ? error.message : '';
    if (code === '22000') {
      const match = DIMENSION_MESSAGES.map((pattern) => pattern.exec(message)).find((m) => m !== null);
      if (match) {
        this.#onSchemaChanged();
        const [expected, actual] = [Number(match[1]), Number(match[2])];
        return new DimensionMismatchError(
          expected,
          actual,
          `PostgreSQL refused a ${actual}-dimensional vector where ${expected} dimensions are expected: the collection's vectors or its ` +
            'vector indexes are not what this handle was opened with (changed by another process?). Open the collection again (rag.collection()).',
          { cause: error },
        );
      }
    }
    if (code === '42P01' || (code === '42704' && /type "(?:vector|halfvec)"/.test(message))) {
      this.#onSchemaChanged();
      return new RagSchemaError(`The documents table or the vector type is missing (${message}). Apply Cairn's migrations: ${MIGRATE_HINT}.`, { cause: error });
    }
    return error;
  }
}
