// The write-behind queue: writes are appended in call order and one worker persists them in that
// order, a batch per transaction (@cairn/db's runTransaction), so what survives a crash is always a
// prefix of the queue, less the writes moved to the dead letters.
// Failures are classified by @cairn/core's isTransientError:
// - transient (a lost connection, a server restart, a deadlock): the batch is rolled back and
//   retried with backoff. After `maxAttempts`, one last attempt persists what it can and moves what
//   still fails while PostgreSQL answers to the dead letters; while PostgreSQL cannot be reached,
//   nothing is dead-lettered and the batch stays queued.
// - permanent (a NUL that jsonb cannot hold, a constraint, a trigger): never retried as a batch.
//   The failing statement names the bad write; the batch runs again in one transaction with that
//   write recorded in write_behind_dead_letters and every other write in a savepoint (a second bad
//   write is dead-lettered there). A failure at COMMIT names no write: the batch is then persisted
//   one write per transaction.
// - a COMMIT lost with its connection: the transaction id, read after BEGIN, is looked up with
//   txid_status() before anything runs again, so a committed batch is never written twice.
// Loss window: everything queued but not yet committed (at most the queue's content) is lost if
// the process dies; `flush()` / `QueuedWrite.persisted()` say when a write is durable.
import type pg from 'pg';
import { z } from 'zod';
import { BackoffSchedule, ClosedError, IdSchema, TRANSIENT, errorCode, isConnectionError, isTransientError, parseInput } from '@cairn/core';
import { CommitOutcomeUnknown, runTransaction, type CairnDb, type Row } from '@cairn/db';
import {
  DeadLetterNotFoundError,
  FlushTimeoutError,
  WriteBehindError,
  WriteDeadLetteredError,
  WriteQueueFullError,
  type QueuedWriteInfo,
} from './errors.js';
import { TypeNameSchema } from './type-name.js';
import type { ResolvedWriteBehindOptions } from './options.js';
import { DELETE_SQL, writeStatement, type WrittenRow } from './sql.js';

/** One write waiting in the queue. */
export interface QueueEntry<R = unknown> {
  readonly info: QueuedWriteInfo;
  /** The statement that persists it (one statement per write). */
  readonly statement: pg.QueryConfig;
  /** Turns the statement's rows into what `persisted()` resolves to. */
  readonly toResult: (rows: pg.QueryResultRow[]) => R;
  state: 'queued' | 'done' | 'failed';
  /** Times the statement was sent to PostgreSQL. */
  attempts: number;
  result?: R;
  error?: unknown;
  listeners?: Array<{ resolve: (value: R) => void; reject: (error: unknown) => void }>;
}

/** Counters describing the queue. */
export interface WriteBehindStats {
  /** Writes queued and not yet persisted or dead-lettered (including the batch in flight). */
  pending: number;
  /** Writes persisted since the store was created. */
  persisted: number;
  /** Writes moved to `write_behind_dead_letters` instead (each reported to onError). */
  deadLettered: number;
  /** Failed batch attempts (each reported to onError). */
  failedAttempts: number;
  /** Sequence number of the last write queued (0 before the first). */
  lastQueued: number;
  /** Every write with a sequence up to this one is persisted or dead-lettered. */
  lastProcessed: number;
}

/** A write the queue accepted. `persisted()` resolves once it is committed (rejects if it was dead-lettered). */
export interface QueuedWrite<R> {
  /** Position in the queue: writes are persisted in increasing sequence order. */
  readonly sequence: number;
  readonly type: string;
  readonly id: string;
  /**
   * Resolves with the write's result once it is committed; rejects with WriteDeadLetteredError if
   * it was moved to the dead letters, with FlushTimeoutError if close() gave up on it.
   */
  persisted(): Promise<R>;
}

/** A committed write, as announced to the store (cache invalidation, events); version null for a delete. */
export interface PersistedWrite {
  readonly kind: 'save' | 'delete';
  readonly tenantId: string;
  readonly type: string;
  readonly id: string;
  readonly version: number | null;
}

interface Waiter {
  target: number;
  floor: number;
  /** flush() reports dead-lettered writes; internal ordering waits (drain) do not. */
  reportFailures: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** What became of one write of a committed batch. */
type Outcome = { rows: pg.QueryResultRow[] } | { deadLetter: { id: string; error: unknown; transient: boolean } };

/** How the next attempt of a batch runs, from what the failed ones found. */
interface BatchPlan {
  /** Writes to dead-letter without sending them again, by index in the batch, with the error that condemned them. */
  readonly condemned: Map<number, { error: unknown; transient: boolean }>;
  /** `maxAttempts` transient failures happened: dead-letter what still fails while PostgreSQL answers. */
  exhausted: boolean;
  /** A COMMIT lost with its connection: look its transaction up before running anything again. */
  unresolved: { xid: string; outcomes: Outcome[] } | undefined;
}

/** Where an attempt got to, to tell which write a failure belongs to. */
interface Progress {
  stage: 'begin' | 'write' | 'savepoint' | 'dead-letter' | 'commit';
  index: number;
}

const TXID_SQL = { name: 'cairn_wb_txid', text: 'SELECT txid_current()::text AS xid' };
const TXID_STATUS_SQL = 'SELECT txid_status($1::bigint) AS status';
const DEAD_LETTER_SQL = `INSERT INTO write_behind_dead_letters (tenant_id, type, object_id, operation, payload, error, error_code, attempts)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id::text AS id`;

function keyOf(info: Pick<QueuedWriteInfo, 'tenantId' | 'type' | 'id'>): string {
  return `${info.tenantId}\u0000${info.type}\u0000${info.id}`;
}

/** @internal The queue behind a write-behind ObjectStore (shared by its tenant views and collections). */
export class WriteBehindQueue {
  readonly #db: CairnDb;
  readonly #options: ResolvedWriteBehindOptions;
  readonly #backoff: BackoffSchedule;
  // Entries from #head on are unprocessed; compacted now and then so the array does not grow forever.
  #entries: QueueEntry[] = [];
  #head = 0;
  #seq = 0;
  #processed = 0;
  #persistedCount = 0;
  #deadLetteredCount = 0;
  #failedAttempts = 0;
  /** Dead-lettered writes, for flush() to report (bounded). */
  #failures: Array<{ sequence: number; error: unknown }> = [];
  /** The last failure since a batch last went through, for close() to say why it gave up. */
  #lastFailure: unknown;
  /** Writes up to this sequence are persisted one per transaction (a batch failed at COMMIT). */
  #isolateThrough = 0;
  readonly #lastSeqByKey = new Map<string, number>();
  #waiters: Waiter[] = [];
  #roomWaiters: Array<{ seq: number; resolve: () => void }> = [];
  #running = false;
  #closing = false;
  #stopped = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #wakeRetry: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  readonly #afterPersist: ((writes: PersistedWrite[]) => Promise<void>) | undefined;

  /** `afterPersist` runs after each committed batch, before its writes count as persisted (cache invalidation). */
  constructor(db: CairnDb, options: ResolvedWriteBehindOptions, afterPersist?: (writes: PersistedWrite[]) => Promise<void>) {
    this.#db = db;
    this.#options = options;
    this.#backoff = new BackoffSchedule({ initialDelayMs: options.retryBaseDelayMs, maxDelayMs: options.retryMaxDelayMs });
    this.#afterPersist = afterPersist;
  }

  get pending(): number {
    return this.#entries.length - this.#head;
  }

  /**
   * Appends a write. The entry takes its place in the order synchronously (call order is persist
   * order); the returned promise resolves once the caller may go on: immediately, or, when the
   * queue is full and `whenFull` is 'wait', once the worker has made room for it.
   */
  enqueue<R>(info: Omit<QueuedWriteInfo, 'sequence'>, statement: pg.QueryConfig, toResult: (rows: pg.QueryResultRow[]) => R): Promise<QueuedWrite<R>> | QueuedWrite<R> {
    if (this.#closing) throw new ClosedError('write-behind queue');
    const full = this.pending >= this.#options.maxPending;
    if (full && this.#options.whenFull === 'reject') throw new WriteQueueFullError(this.#options.maxPending);
    const seq = ++this.#seq;
    const entry: QueueEntry<R> = { info: { ...info, sequence: seq }, statement, toResult, state: 'queued', attempts: 0 };
    this.#entries.push(entry as QueueEntry);
    this.#lastSeqByKey.set(keyOf(entry.info), seq);
    this.#kick();
    const receipt: QueuedWrite<R> = {
      sequence: seq,
      type: info.type,
      id: info.id,
      persisted: () => this.#persisted(entry),
    };
    if (!full) return receipt;
    // Back-pressure: the entry is already in line; its caller waits until it fits within maxPending.
    return new Promise((resolve) => {
      this.#roomWaiters.push({ seq, resolve: () => resolve(receipt) });
    });
  }

  #persisted<R>(entry: QueueEntry<R>): Promise<R> {
    if (entry.state === 'done') return Promise.resolve(entry.result as R);
    // The caller gets exactly what the write failed with (a typed Cairn error), never a wrapper of it.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- hands each waiter the failure the write met, unchanged
    if (entry.state === 'failed') return Promise.reject(entry.error);
    return new Promise<R>((resolve, reject) => {
      (entry.listeners ??= []).push({ resolve, reject });
    });
  }

  /** True when a write to this object is queued and not yet processed. */
  hasPending(tenantId: string, type: string, id: string): boolean {
    return this.#lastSeqByKey.has(keyOf({ tenantId, type, id }));
  }

  /** Waits until every queued write to this object is processed (read-your-writes for load()). */
  async waitFor(tenantId: string, type: string, id: string): Promise<void> {
    const seq = this.#lastSeqByKey.get(keyOf({ tenantId, type, id }));
    if (seq !== undefined) await this.#waitUntil(seq, false);
  }

  /**
   * Resolves once every write queued before the call is processed (persisted or dead-lettered).
   * Used to order synchronous operations after the queued ones; never rejects.
   */
  drain(): Promise<void> {
    return this.#waitUntil(this.#seq, false);
  }

  /**
   * Resolves once every write queued before the call is persisted. Rejects with the
   * WriteDeadLetteredError of the first of them that was dead-lettered instead.
   */
  flush(): Promise<void> {
    return this.#waitUntil(this.#seq, true);
  }

  #waitUntil(target: number, reportFailures: boolean): Promise<void> {
    if (target <= this.#processed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ target, floor: this.#processed, reportFailures, resolve, reject });
    });
  }

  stats(): WriteBehindStats {
    return {
      pending: this.pending,
      persisted: this.#persistedCount,
      deadLettered: this.#deadLetteredCount,
      failedAttempts: this.#failedAttempts,
      lastQueued: this.#seq,
      lastProcessed: this.#processed,
    };
  }

  /** The dead letters of one tenant. */
  deadLetters(tenantId: string): DeadLetters {
    return new DeadLetters(this.#db, tenantId, {
      drain: () => this.drain(),
      assertOpen: () => {
        if (this.#closing) throw new ClosedError('write-behind queue');
      },
      announce: (write) => this.#announce([write]),
    });
  }

  /**
   * Stops accepting writes and waits (up to `closeTimeoutMs`) until every queued write is persisted
   * or dead-lettered. On timeout the worker stops and FlushTimeoutError names the writes it could
   * not persist and the last failure.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      if (this.pending === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.#options.closeTimeoutMs);
      });
      try {
        const outcome = await Promise.race([this.drain().then(() => 'drained' as const), timeout]);
        if (outcome === 'timeout') {
          const writes = this.#entries.slice(this.#head).map((entry) => entry.info);
          const error = new FlushTimeoutError(writes.length, this.#options.closeTimeoutMs, writes, this.#lastFailure === undefined ? {} : { cause: this.#lastFailure });
          this.#stop(error);
          throw error;
        }
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.#closed;
  }

  /** Abandons what is left (close timed out): fails its receipts and waiters, cancels retries. */
  #stop(error: unknown): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#wakeRetry?.();
    for (let i = this.#head; i < this.#entries.length; i++) this.#settle(this.#entries[i]!, error);
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters = [];
    for (const waiter of this.#roomWaiters) waiter.resolve();
    this.#roomWaiters = [];
  }

  #kick(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    // Started on a later tick so that a burst of synchronous save() calls lands in one batch.
    setImmediate(() => {
      this.#work().catch((error: unknown) => {
        // #work handles its own failures; reaching here is a bug, which must not go unnoticed.
        this.#stop(error);
      });
    });
  }

  async #work(): Promise<void> {
    try {
      while (!this.#stopped && this.pending > 0) {
        const isolated = this.#entries[this.#head]!.info.sequence <= this.#isolateThrough;
        const batch = this.#entries.slice(this.#head, this.#head + (isolated ? 1 : this.#options.batchSize));
        const outcomes = await this.#persistBatch(batch);
        if (outcomes === undefined || this.#stopped) return;
        if (outcomes === 'isolate') {
          this.#isolateThrough = batch.at(-1)!.info.sequence;
          continue;
        }
        this.#lastFailure = undefined;
        const written: PersistedWrite[] = [];
        outcomes.forEach((outcome, i) => {
          const { kind, tenantId, type, id } = batch[i]!.info;
          if ('rows' in outcome && outcome.rows.length > 0) written.push({ kind, tenantId, type, id, version: kind === 'save' ? ((outcome.rows[0]?.version as number | undefined) ?? null) : null });
        });
        await this.#announce(written);
        this.#head += batch.length;
        batch.forEach((entry, i) => this.#finish(entry, outcomes[i]!));
        this.#processed = batch.at(-1)!.info.sequence;
        this.#afterProgress();
      }
    } finally {
      this.#running = false;
    }
    if (!this.#stopped && this.pending > 0) this.#kick();
  }

  async #announce(writes: PersistedWrite[]): Promise<void> {
    if (writes.length === 0 || !this.#afterPersist) return;
    try {
      await this.#afterPersist(writes);
    } catch {
      // Invalidation never throws for outages (the cache degrades); anything else must not stall the queue.
    }
  }

  /** Settles a processed write: resolves its receipt, or reports and rejects a dead-lettered one. */
  #finish(entry: QueueEntry, outcome: Outcome): void {
    if ('deadLetter' in outcome) {
      const { id, error: cause, transient } = outcome.deadLetter;
      this.#deadLetteredCount++;
      const error = new WriteDeadLetteredError({ write: entry.info, deadLetterId: id, sqlstate: errorCode(cause) ?? null, attempts: entry.attempts, transient }, { cause });
      if (this.#failures.length < 10_000) this.#failures.push({ sequence: entry.info.sequence, error });
      this.#report(error);
      this.#settle(entry, error);
      return;
    }
    this.#persistedCount++;
    let result: unknown;
    try {
      result = entry.toResult(outcome.rows);
    } catch (error) {
      this.#settle(entry, error);
      return;
    }
    entry.state = 'done';
    entry.result = result;
    for (const listener of entry.listeners ?? []) listener.resolve(result);
    entry.listeners = undefined;
  }

  #settle(entry: QueueEntry, error: unknown): void {
    entry.state = 'failed';
    entry.error = error;
    for (const listener of entry.listeners ?? []) listener.reject(error);
    entry.listeners = undefined;
  }

  #afterProgress(): void {
    for (const [key, seq] of this.#lastSeqByKey) {
      if (seq <= this.#processed) this.#lastSeqByKey.delete(key);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    const remaining: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.target > this.#processed) {
        remaining.push(waiter);
        continue;
      }
      const failed = waiter.reportFailures ? this.#failures.find((f) => f.sequence > waiter.floor && f.sequence <= waiter.target) : undefined;
      if (failed === undefined) waiter.resolve();
      else waiter.reject(failed.error);
    }
    this.#waiters = remaining;
    const room = this.#processed + this.#options.maxPending;
    while (this.#roomWaiters.length > 0 && this.#roomWaiters[0]!.seq <= room) this.#roomWaiters.shift()!.resolve();
  }

  /**
   * Persists a batch, retrying transient failures with backoff and dead-lettering the writes
   * PostgreSQL refuses. Returns what became of each write; 'isolate' when the batch must be run one
   * write at a time; undefined once the queue stopped.
   */
  async #persistBatch(batch: QueueEntry[]): Promise<Outcome[] | 'isolate' | undefined> {
    const plan: BatchPlan = { condemned: new Map(), exhausted: false, unresolved: undefined };
    for (let attempt = 1; ; attempt++) {
      const progress: Progress = { stage: 'begin', index: 0 };
      try {
        return await this.#attempt(batch, plan, progress);
      } catch (error) {
        if (this.#stopped) return undefined;
        const transient = isTransientError(error) || error instanceof CommitOutcomeUnknown;
        this.#failedAttempts++;
        this.#lastFailure = error;
        this.#report(new WriteBehindError({ writes: batch.map((entry) => entry.info), attempt, transient }, { cause: error }));
        if (!transient && progress.stage === 'write') {
          // The failing statement names the bad write: dead-letter it, run the rest again at once.
          plan.condemned.set(progress.index, { error, transient: false });
          continue;
        }
        if (!transient && progress.stage === 'commit' && (batch.length > 1 || !plan.condemned.has(0))) {
          // Refused at COMMIT (a deferred constraint): no statement to blame. A lone write is the
          // culprit (unless it is already being dead-lettered: then the dead letter's COMMIT failed).
          if (batch.length > 1) return 'isolate';
          plan.condemned.set(0, { error, transient: false });
          continue;
        }
        // Transient, or permanent outside the writes (BEGIN, recording a dead letter, even its COMMIT):
        // no write to blame, so nothing is given up; wait and try again.
        if (this.#options.maxAttempts > 0 && attempt >= this.#options.maxAttempts) plan.exhausted = true;
        await this.#sleep(this.#backoff.delayBeforeRetry(attempt));
        if (this.#stopped) return undefined;
      }
    }
  }

  /** One attempt of a batch, in one transaction. */
  async #attempt(batch: QueueEntry[], plan: BatchPlan, progress: Progress): Promise<Outcome[]> {
    if (plan.unresolved) {
      const { rows } = await this.#db.pool.query<{ status: string | null }>(TXID_STATUS_SQL, [plan.unresolved.xid]);
      const status = rows[0]?.status ?? null;
      if (status === 'committed') return plan.unresolved.outcomes;
      if (status === 'in progress') throw Object.assign(new Error('The lost COMMIT is still in progress on the server'), { [TRANSIENT]: true });
      // Aborted (or forgotten, which only an ancient transaction is): nothing of it took effect.
      plan.unresolved = undefined;
    }
    // After a failure, every write not yet condemned runs in a savepoint, so that another bad one is
    // dead-lettered instead of failing the attempt.
    const salvage = plan.condemned.size > 0 || plan.exhausted;
    const outcomes: Outcome[] = [];
    let xid: string | undefined;
    try {
      await runTransaction(this.#db.pool, async (client) => {
        xid = (await client.query<{ xid: string }>(TXID_SQL)).rows[0]!.xid;
        for (let i = 0; i < batch.length; i++) {
          const entry = batch[i]!;
          progress.index = i;
          const verdict = plan.condemned.get(i);
          if (verdict) {
            progress.stage = 'dead-letter';
            outcomes.push(await this.#deadLetter(client, entry, verdict.error, verdict.transient));
            continue;
          }
          progress.stage = 'savepoint';
          if (salvage) await client.query('SAVEPOINT cairn_write');
          progress.stage = 'write';
          try {
            entry.attempts++;
            outcomes.push({ rows: (await client.query<pg.QueryResultRow>(entry.statement)).rows });
          } catch (error) {
            const transient = isTransientError(error);
            // A broken connection cannot go on; other transient errors are retried until the attempts are used up.
            if (!salvage || isConnectionError(error) || (transient && !plan.exhausted)) throw error;
            progress.stage = 'savepoint';
            await client.query('ROLLBACK TO SAVEPOINT cairn_write');
            progress.stage = 'dead-letter';
            outcomes.push(await this.#deadLetter(client, entry, error, transient));
          }
        }
        progress.stage = 'commit';
      });
    } catch (error) {
      if (error instanceof CommitOutcomeUnknown && xid !== undefined) plan.unresolved = { xid, outcomes };
      throw error;
    }
    return outcomes;
  }

  /** Records a write in write_behind_dead_letters, in the batch's transaction. */
  async #deadLetter(client: pg.PoolClient, entry: QueueEntry, error: unknown, transient: boolean): Promise<Outcome> {
    const { kind, tenantId, type, id } = entry.info;
    // A save's JSON is its statement's $4 (see writeStatement); kept as bytes, since it may hold what jsonb cannot.
    const json: unknown = kind === 'save' ? entry.statement.values?.[3] : undefined;
    const message = (error instanceof Error ? error.message : String(error)).replaceAll('\u0000', '\\u0000');
    const { rows } = await client.query<Pick<DeadLetterRow, 'id'>>(DEAD_LETTER_SQL, [
      tenantId,
      type,
      id,
      kind,
      typeof json === 'string' ? Buffer.from(json, 'utf8') : null,
      message,
      errorCode(error) ?? null,
      entry.attempts,
    ]);
    return { deadLetter: { id: rows[0]!.id, error, transient } };
  }

  async #sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#wakeRetry = resolve;
      this.#retryTimer = setTimeout(resolve, ms);
    });
    this.#wakeRetry = undefined;
  }

  #report(error: WriteBehindError): void {
    try {
      this.#options.onError(error);
    } catch {
      // The handler's own failure has nowhere better to go; the write is still retried or dead-lettered.
    }
  }
}

/** A write-behind write that could not be persisted, as kept in `write_behind_dead_letters`. */
export interface DeadLetterRecord {
  /** The letter's id (a bigint, in decimal). */
  readonly id: string;
  readonly tenantId: string;
  readonly type: string;
  readonly objectId: string;
  readonly operation: 'save' | 'delete';
  /** The write's JSON text exactly as queued (null for a delete); `JSON.parse` gives the data. */
  readonly payload: string | null;
  /** The error's message. */
  readonly error: string;
  /** Its SQLSTATE (or driver error code). */
  readonly errorCode: string | null;
  /** Times the write was sent to PostgreSQL. */
  readonly attempts: number;
  readonly createdAt: Date;
}

/** What a replayed dead letter wrote: the object's new version (null for a delete). */
export interface ReplayedWrite {
  readonly kind: 'save' | 'delete';
  readonly type: string;
  readonly id: string;
  readonly version: number | null;
}

const DeadLetterIdSchema = z.string().regex(/^[1-9][0-9]{0,18}$/, 'must be a dead letter id (a positive integer, in decimal)');

/** Options of DeadLetters.list(). */
export const DeadLetterListOptionsSchema = z
  .object({
    /** Only letters of this object type. */
    type: TypeNameSchema.optional(),
    /** Only letters of this object id. */
    id: IdSchema.optional(),
    /** Page size, 1-1000. @defaultValue 100 */
    limit: z.number().int().min(1).max(1000).default(100),
    /** Only letters after this id (the last id of the previous page). */
    after: DeadLetterIdSchema.optional(),
  })
  .strict();
/** Options of DeadLetters.list(). */
export type DeadLetterListOptions = z.input<typeof DeadLetterListOptionsSchema>;

/** A dead letter as LIST_SQL reads it; the bigint id arrives as text, as node-postgres returns int8. */
type DeadLetterRow = Row<
  'write_behind_dead_letters',
  'id' | 'tenant_id' | 'type' | 'object_id' | 'operation' | 'payload' | 'error' | 'error_code' | 'attempts' | 'created_at'
>;

const LIST_SQL = `SELECT id::text AS id, tenant_id, type, object_id, operation, payload, error, error_code, attempts, created_at
  FROM write_behind_dead_letters
  WHERE tenant_id = $1 AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR object_id = $3) AND id > $4::bigint
  ORDER BY id LIMIT $5`;
const TAKE_SQL = `DELETE FROM write_behind_dead_letters WHERE tenant_id = $1 AND id = $2::bigint
  RETURNING type, object_id, operation, payload`;
const DISCARD_SQL = 'DELETE FROM write_behind_dead_letters WHERE tenant_id = $1 AND id = $2::bigint';

/** @internal What DeadLetters needs of the queue. */
interface DeadLetterHost {
  /** Waits for every write queued so far. */
  drain(): Promise<void>;
  assertOpen(): void;
  /** Announces a replayed write (cache invalidation, events). */
  announce(write: PersistedWrite): Promise<void>;
}

/**
 * The write-behind dead letters of one tenant (`store.deadLetters()`): writes the queue could not
 * persist, with the error that stopped them. Read them, replay one once PostgreSQL accepts it (the
 * data fixed elsewhere, a constraint relaxed), or discard it.
 */
export class DeadLetters {
  readonly tenantId: string;
  readonly #db: CairnDb;
  readonly #queue: DeadLetterHost;

  /** @internal use ObjectStore.deadLetters(). */
  constructor(db: CairnDb, tenantId: string, queue: DeadLetterHost) {
    this.#db = db;
    this.tenantId = tenantId;
    this.#queue = queue;
  }

  /** The letters of this tenant, oldest first (page on with `after`). */
  async list(options?: DeadLetterListOptions): Promise<DeadLetterRecord[]> {
    const opts = parseInput(DeadLetterListOptionsSchema, options ?? {}, 'dead letter list options');
    const rows = await this.#db.run(
      async () => (await this.#db.pool.query<DeadLetterRow>(LIST_SQL, [this.tenantId, opts.type ?? null, opts.id ?? null, opts.after ?? '0', opts.limit])).rows,
      { operation: 'dead letter list' },
    );
    return rows.map((row) => ({
      id: row.id,
      tenantId: row.tenant_id,
      type: row.type,
      objectId: row.object_id,
      operation: row.operation === 'delete' ? 'delete' : 'save',
      payload: row.payload === null ? null : row.payload.toString('utf8'),
      error: row.error,
      errorCode: row.error_code,
      attempts: row.attempts,
      createdAt: row.created_at,
    }));
  }

  /**
   * Replays a letter, after every write queued before the call: in one transaction the write runs
   * again as the newest write of its object (over any later write of it that persisted meanwhile)
   * and the letter is removed. Still refused, it throws the typed storage error and the letter
   * stays. A replayed save prunes no history (the collection's `keepVersions` is not known here;
   * its next write prunes). DeadLetterNotFoundError when there is no such letter in this tenant.
   */
  async retry(id: string): Promise<ReplayedWrite> {
    this.#queue.assertOpen();
    const letterId = parseInput(DeadLetterIdSchema, id, 'dead letter id');
    await this.#queue.drain();
    const { write, changed } = await this.#db.transaction(
      async (client) => {
        const letter = (await client.query<Pick<DeadLetterRow, 'type' | 'object_id' | 'operation' | 'payload'>>(TAKE_SQL, [this.tenantId, letterId])).rows[0];
        if (!letter) throw new DeadLetterNotFoundError(letterId);
        const key = { tenantId: this.tenantId, type: letter.type, id: letter.object_id };
        const kind = letter.operation === 'delete' ? 'delete' : 'save';
        const statement =
          kind === 'delete'
            ? { ...DELETE_SQL, values: [key.tenantId, key.type, key.id] }
            : writeStatement('upsert', { ...key, json: letter.payload?.toString('utf8') ?? 'null', operation: 'save', keepVersions: null });
        const { rows } = await client.query<Pick<WrittenRow, 'version'>>(statement);
        return { write: { kind, ...key, version: kind === 'save' ? rows[0]!.version : null } as const, changed: rows.length > 0 };
      },
      { operation: 'dead letter replay' },
    );
    if (changed) await this.#queue.announce(write);
    return { kind: write.kind, type: write.type, id: write.id, version: write.version };
  }

  /** Removes a letter without replaying it. False when there was no such letter in this tenant. */
  async discard(id: string): Promise<boolean> {
    const letterId = parseInput(DeadLetterIdSchema, id, 'dead letter id');
    const { rowCount } = await this.#db.run(() => this.#db.pool.query(DISCARD_SQL, [this.tenantId, letterId]), { operation: 'dead letter discard' });
    return (rowCount ?? 0) > 0;
  }

  /** Keeps the database handle out of logs. */
  toJSON(): Record<string, unknown> {
    return { tenantId: this.tenantId };
  }
}
