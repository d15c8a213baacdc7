// The PostgreSQL Checkpointer. Hot paths are single parameterised statements on the shared pg
// pool (see postgres-sql.ts); transient failures are retried with backoff and jitter, and a
// retried write recognises its own earlier attempt so nothing is written twice.
import { TRANSIENT, errorCode, parseInput } from '@cairn/core';
import { CommitOutcomeUnknown, SqlParams, compileFilter, createDb, runTransaction, type CairnDb, type ColumnName, type DbOptions, type Row, type Tables } from '@cairn/db';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { RedisCache } from '@cairn/redis';
import { BaseCheckpointer } from './base-checkpointer.js';
import type { NewRow } from './batch-plan.js';
import type { InsertFlags, StoreListQuery, StoredRow, StoredWrite } from './storage.js';
import { CheckpointNotFoundError, ConflictError } from './errors.js';
import {
  type CHECKPOINT_COLUMNS,
  DELETE_SQL,
  DELETE_THREAD_SQL,
  DELETE_THREADS_SQL,
  FORK_SQL,
  PRUNE_CHILDREN_SQL,
  PRUNE_DELETE_SQL,
  PRUNE_LOCK_SQL,
  PRUNE_ROWS_SQL,
  THREAD_IDS_SQL,
  getSql,
  historySql,
  insertSql,
  simpleInsertSql,
  listSql,
  writesSql,
} from './postgres-sql.js';
import { selectPrunable, withoutNewParents, type ResolvedRetentionPolicy } from './retention.js';
import { CheckpointerOptionsSchema, IdSchema, type CheckpointerOptions } from './schemas.js';
import type { CheckpointEvent, CheckpointerHealth, Metadata, PruneResult } from './types.js';
import type { WriteConflictMode } from './schemas.js';

/** Checkpoints deleted per retention transaction. */
const PRUNE_BATCH = 5000;
/** Threads read per page by a tenant-wide prune. */
const PRUNE_THREAD_PAGE = 500;
/** Longest one retention statement may run. */
const PRUNE_STATEMENT_TIMEOUT_MS = 30_000;

/** Options of PostgresCheckpointer. */
export type PostgresCheckpointerOptions = CheckpointerOptions;

/** A column of checkpoint_writes aggregated over a checkpoint's writes (null when it has none). */
type Aggregated<C extends ColumnName<'checkpoint_writes'>> = Array<Tables['checkpoint_writes'][C]> | null;

/** A checkpoint as the reads return it (ROW_COLUMNS): its row, and its pending writes as parallel arrays. */
type RowShape = Row<'checkpoints', (typeof CHECKPOINT_COLUMNS)[number], { metadata: Metadata }> & {
  task_ids: Aggregated<'task_id'>;
  task_paths: Aggregated<'task_path'>;
  idxs: Aggregated<'idx'>;
  channels: Aggregated<'channel'>;
  vals: Aggregated<'value'>;
  formats: Aggregated<'value_format'>;
};

/** A checkpoint's place in its thread, as retention re-reads it. */
type LinkShape = Row<'checkpoints', 'checkpoint_ns' | 'checkpoint_id' | 'parent_checkpoint_id'>;

/** A row retention has locked for deletion (ctid: where it is, stable while locked). */
type LockedRow = LinkShape & { ctid: string };

/** A checkpoint as retention first reads it, with the database's clock. */
type PruneCandidate = Row<'checkpoints', 'checkpoint_ns' | 'checkpoint_id' | 'parent_checkpoint_id' | 'created_at'> & { now: Date };

interface InsertResult {
  conflicts: number;
  missing: number;
  vanished: number;
  moved: boolean;
  conflict_id: string | null;
  conflict_thread: string | null;
  missing_id: string | null;
  missing_thread: string | null;
  missing_ns: string | null;
  latest_id: string | null;
  inserted: number;
}

function toRow(r: RowShape): StoredRow {
  const writes: StoredWrite[] = [];
  for (let i = 0; i < (r.task_ids?.length ?? 0); i += 1) {
    writes.push({
      taskId: r.task_ids![i]!,
      taskPath: r.task_paths![i]!,
      idx: r.idxs![i]!,
      channel: r.channels![i]!,
      value: { bytes: r.vals![i]!, format: r.formats![i]! },
    });
  }
  return {
    threadId: r.thread_id,
    namespace: r.checkpoint_ns,
    checkpointId: r.checkpoint_id,
    parentId: r.parent_checkpoint_id,
    step: r.step,
    state: { bytes: r.state, format: r.state_format },
    metadata: r.metadata,
    createdAt: r.created_at,
    writes,
  };
}

/** A row read back from the cache: bytes arrive as Uint8Array, which is all the codec needs. */
function reviveRow(row: StoredRow): StoredRow {
  return { ...row, createdAt: new Date(row.createdAt) };
}

/**
 * The latest checkpoint a put resolved as its parent was deleted while the put waited for its
 * lock: nothing was written, and another attempt resolves the new latest (hence transient).
 */
class LatestVanished extends Error {
  override readonly name = 'LatestVanished';
  readonly [TRANSIENT] = true;
}

function buf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Checkpointer on PostgreSQL (the `checkpoints` and `checkpoint_writes` tables of the Cairn schema).
 * Takes a CairnDb it does not own; `fromUrl` creates (and owns) one.
 */
export class PostgresCheckpointer<S = unknown> extends BaseCheckpointer<S> {
  readonly db: CairnDb;
  /** Created by fromUrl: close() closes the database too. */
  #ownsDb = false;

  /** Latest checkpoint of each thread's root namespace, in Redis (when `options.redis` is set). */
  readonly #cache: RedisCache | undefined;

  constructor(db: CairnDb, options: PostgresCheckpointerOptions = {}) {
    super('postgres', options);
    this.db = db;
    const redis = this.options.redis;
    if (redis) this.#cache = new RedisCache(redis.connection, { namespace: 'checkpoints', defaultTtlSeconds: redis.ttlSeconds });
  }

  /** Cache key of a thread: a digest, since ids may hold characters Redis keys should not (braces). */
  #cacheKey(threadId: string): string {
    return createHash('sha256').update(JSON.stringify([this.tenantId, threadId])).digest('base64url');
  }

  /**
   * Invalidates the thread's cached latest checkpoint. The cache refills on the next read, and a
   * fill that raced with this write is refused (RedisCache versions its entries), so a reader can
   * never put back the checkpoint this write replaced. Redis being down is not an error here.
   */
  protected override async onLocalChange(event: CheckpointEvent): Promise<void> {
    if (!this.#cache || (event.type === 'checkpoint.saved' && event.namespace !== '')) return;
    await this.#cache.del(this.#cacheKey(event.threadId)).catch((error: unknown) => this.reportBackgroundError(error));
  }

  /** Connects to `url` (a CairnDb the checkpointer owns and closes). */
  static async fromUrl<S = unknown>(url: string, options: PostgresCheckpointerOptions & { db?: Omit<DbOptions, 'url'> } = {}): Promise<PostgresCheckpointer<S>> {
    const { db: dbOptions, ...rest } = options;
    // Validate before connecting, so a typo does not leave a pool open.
    parseInput(CheckpointerOptionsSchema, rest, 'checkpointer options');
    const db = await createDb({ ...dbOptions, url });
    const checkpointer = new PostgresCheckpointer<S>(db, rest);
    checkpointer.#ownsDb = true;
    return checkpointer;
  }

  /** Runs one statement with retries; maps driver errors to Cairn errors. */
  async #query<R extends pg.QueryResultRow>(operation: string, statement: { name: string; text: string }, values: unknown[]): Promise<R[]> {
    return (await this.#run(operation, () => this.db.pool.query<R>({ ...statement, values }))).rows;
  }

  async #run<T>(operation: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    this.ensureOpen();
    return this.db.run(fn, {
      operation: `checkpoint ${operation}`,
      retry: this.options.retry,
      onRetry: () => this.metrics.retry(operation),
      mapError: (error) => (errorCode(error) === '23505' ? new ConflictError(`A checkpoint with this id already exists: ${(error as Error).message}`, { cause: error }) : error),
    });
  }

  protected async storeInsert(rows: NewRow[], flags: InsertFlags): Promise<void> {
    const only = rows[0]!;
    if (
      rows.length === 1 &&
      only.writes.length === 0 &&
      flags.expectedLatestId === undefined &&
      (flags.ifExists === 'replace' || !only.explicitId) &&
      only.parent.kind !== 'batch'
    ) {
      await this.#insertSimple(only, flags);
      return;
    }
    const single = rows.length === 1 && rows[0]!.writes.length === 0;
    const withWrites = rows.some((r) => r.writes.length > 0);
    const cas = flags.expectedLatestId !== undefined;
    const statement = insertSql({ single, replace: flags.ifExists === 'replace', withWrites, cas });
    const perRow = (r: NewRow) => [
      r.threadId,
      r.namespace,
      r.checkpointId,
      r.parent.kind === 'id' || r.parent.kind === 'batch' ? r.parent.id : null,
      r.parent.kind === 'latest',
      r.stepBase.kind === 'latest',
      r.stepBase.kind === 'id' ? r.stepBase.id : null,
      r.step ?? null,
      r.stepOffset,
      buf(r.state.bytes),
      r.state.format,
      JSON.stringify(r.metadata),
      r.createdAt ?? null,
    ];
    const values: unknown[] = [this.tenantId, flags.requireParent, flags.expectedLatestId ?? null];
    if (single) values.push(...perRow(rows[0]!));
    else {
      const columns = rows.map(perRow);
      for (let c = 0; c < 13; c += 1) values.push(columns.map((row) => row[c]));
    }
    if (withWrites) {
      const writes = rows.flatMap((r) => r.writes.map((w) => ({ r, w })));
      values.push(
        writes.map(({ r }) => r.threadId),
        writes.map(({ r }) => r.namespace),
        writes.map(({ r }) => r.checkpointId),
        writes.map(({ w }) => w.taskId),
        writes.map(({ w }) => w.taskPath),
        writes.map(({ w }) => w.idx),
        writes.map(({ w }) => w.channel),
        writes.map(({ w }) => buf(w.value.bytes)),
        writes.map(({ w }) => w.value.format),
      );
    }
    // Whether an earlier attempt may have committed: it failed some other way than LatestVanished,
    // which is known to have written nothing.
    let mayHaveCommitted = false;
    let vanished = false;
    const result = await this.#run('insert', async (attempt) => {
      if (attempt > 1 && !vanished) mayHaveCommitted = true;
      vanished = false;
      const execute = async (client: pg.Pool | pg.PoolClient) => {
        const r = (await client.query<InsertResult>({ ...statement, values })).rows[0]!;
        if (r.vanished > 0 && r.conflicts === 0 && r.missing === 0 && !r.moved) {
          vanished = true;
          throw new LatestVanished('The latest checkpoint was deleted while a put appended to it');
        }
        return r;
      };
      if (!cas) return { r: await execute(this.db.pool) };
      // Optimistic concurrency needs the check and the insert to see the same latest: serialise
      // writers of this thread namespace with a transaction-scoped advisory lock.
      const r = await runTransaction(this.db.pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', [JSON.stringify([this.tenantId, rows[0]!.threadId, rows[0]!.namespace])]);
        return execute(client);
      }).catch((error: unknown) => {
        // A lost COMMIT is retried: the retry recognises its own committed rows (see below).
        throw error instanceof CommitOutcomeUnknown ? error.original : error;
      });
      return { r };
    });
    const { r } = result;
    if (r.conflicts > 0) {
      // A retry that finds every row already there is our own earlier attempt, which committed
      // before its connection dropped.
      if (mayHaveCommitted && r.conflicts === rows.length) return;
      throw new ConflictError(`Checkpoint ${r.conflict_id} already exists in thread ${JSON.stringify(r.conflict_thread)}`, {
        details: { threadId: r.conflict_thread, checkpointId: r.conflict_id },
      });
    }
    if (r.missing > 0) throw new CheckpointNotFoundError(r.missing_thread ?? '', r.missing_ns ?? '', r.missing_id ?? undefined, { details: { role: 'parent' } });
    if (r.moved) {
      throw new ConflictError(`Thread ${JSON.stringify(rows[0]!.threadId)} moved on: latest is ${r.latest_id}, expected ${flags.expectedLatestId}`, {
        details: { threadId: rows[0]!.threadId, expectedLatestId: flags.expectedLatestId, actualLatestId: r.latest_id },
      });
    }
  }

  /** One row through the lean statements (see simpleInsertSql). */
  async #insertSimple(row: NewRow, flags: InsertFlags): Promise<void> {
    const parent = row.parent.kind === 'id' ? 'id' : row.parent.kind === 'latest' ? 'latest' : 'root';
    const statement = simpleInsertSql(parent, flags.ifExists === 'replace');
    const values: unknown[] = [
      this.tenantId,
      row.threadId,
      row.namespace,
      row.checkpointId,
      row.step ?? null,
      buf(row.state.bytes),
      row.state.format,
      JSON.stringify(row.metadata),
      row.createdAt ?? null,
    ];
    if (row.parent.kind === 'id') values.push(row.parent.id, flags.requireParent);
    const inserted = await this.#run('insert', async (attempt) => {
      let count: number;
      try {
        count = (await this.db.pool.query({ ...statement, values })).rowCount ?? 0;
      } catch (error) {
        // A fresh id already present on a retry is our own earlier attempt, which committed
        // before its connection dropped.
        if (attempt > 1 && (error as { code?: unknown }).code === '23505') return 1;
        throw error;
      }
      if (count === 0 && row.parent.kind === 'latest') throw new LatestVanished('The latest checkpoint was deleted while a put appended to it');
      return count;
    });
    if (inserted === 0 && row.parent.kind === 'id') throw new CheckpointNotFoundError(row.threadId, row.namespace, row.parent.id, { details: { role: 'parent' } });
  }

  protected async storeGet(threadId: string, namespace: string, checkpointId: string | undefined): Promise<StoredRow | undefined> {
    const cache = this.#cache;
    if (cache && checkpointId === undefined && namespace === '') {
      let loaded = false;
      let loadError: unknown;
      const load = async () => {
        loaded = true;
        try {
          return await this.#selectOne(threadId, namespace, undefined);
        } catch (error) {
          loadError = error;
          throw error;
        }
      };
      try {
        const row = await cache.getOrLoad<StoredRow | undefined>(this.#cacheKey(threadId), load);
        this.metrics.cache(loaded ? 'miss' : 'hit');
        return row && reviveRow(row);
      } catch (error) {
        // The load's own failure, unchanged (a typed error from #run), not the cache's wrapping of it.
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows, unchanged, what the loader caught from PostgreSQL
        if (loadError !== undefined) throw loadError;
        // A cache failure other than an outage (which RedisCache absorbs): answer from PostgreSQL.
        this.reportBackgroundError(error);
        return this.#selectOne(threadId, namespace, undefined);
      }
    }
    return this.#selectOne(threadId, namespace, checkpointId);
  }

  async #selectOne(threadId: string, namespace: string, checkpointId: string | undefined): Promise<StoredRow | undefined> {
    const values = checkpointId === undefined ? [this.tenantId, threadId, namespace] : [this.tenantId, threadId, namespace, checkpointId];
    const rows = await this.#query<RowShape>('get', getSql(checkpointId !== undefined), values);
    const row = rows[0];
    // The by-id statement returns the greatest id <= the one asked for (see postgres-sql.ts).
    if (!row || (checkpointId !== undefined && row.checkpoint_id !== checkpointId)) return undefined;
    return toRow(row);
  }

  protected async storeList(query: StoreListQuery): Promise<StoredRow[]> {
    const values: unknown[] = [this.tenantId];
    for (const v of [query.threadId, query.namespace, query.checkpointId, query.before, query.after]) if (v !== undefined) values.push(v);
    values.push(Math.min(query.limit, Number.MAX_SAFE_INTEGER));
    // The metadata filter's values come last, after the limit (see listSql).
    const params = new SqlParams(values);
    const metadata = query.metadata === undefined ? undefined : compileFilter(query.metadata, 'c.metadata', params);
    const statement = listSql({
      thread: query.threadId !== undefined,
      namespace: query.namespace !== undefined,
      checkpointId: query.checkpointId !== undefined,
      before: query.before !== undefined,
      after: query.after !== undefined,
      metadata,
      order: query.order,
    });
    return (await this.#query<RowShape>('list', statement, params.values)).map(toRow);
  }

  protected async storeHistory(threadId: string, namespace: string, checkpointId: string | undefined, limit: number): Promise<StoredRow[]> {
    const values: unknown[] = [this.tenantId, threadId, namespace, limit];
    if (checkpointId !== undefined) values.push(checkpointId);
    return (await this.#query<RowShape>('history', historySql(checkpointId !== undefined), values)).map(toRow);
  }

  protected async storeDelete(threadId: string, namespace: string, checkpointId: string): Promise<boolean> {
    const rows = await this.#query<{ deleted: number }>('delete', DELETE_SQL, [this.tenantId, threadId, namespace, checkpointId]);
    return (rows[0]?.deleted ?? 0) > 0;
  }

  /**
   * Deletes every checkpoint and pending write of `threadIds` on `client`, inside the caller's open
   * transaction: thread and session deletion compose it so these rows go atomically with theirs
   * (the caller commits). `afterCommit`, run once the caller's transaction has committed,
   * invalidates the cached latest checkpoints and sends `checkpoint.deleted` for each thread.
   */
  async deleteThreadsInTransaction(client: pg.ClientBase, threadIds: readonly string[]): Promise<{ deleted: number; afterCommit: () => Promise<void> }> {
    this.ensureOpen();
    const ids = threadIds.map((id, i) => parseInput(IdSchema, id, `thread id [${i}]`));
    const { rows } = await client.query<{ deleted: number }>(DELETE_THREADS_SQL, [this.tenantId, ids]);
    return {
      deleted: rows[0]?.deleted ?? 0,
      afterCommit: async () => {
        await Promise.all(ids.map((threadId) => this.emit({ type: 'checkpoint.deleted', tenantId: this.tenantId, threadId }).catch((error: unknown) => this.reportBackgroundError(error))));
      },
    };
  }

  protected async storeDeleteThread(threadId: string): Promise<number> {
    const rows = await this.#query<{ deleted: number }>('deleteThread', DELETE_THREAD_SQL, [this.tenantId, threadId]);
    return rows[0]?.deleted ?? 0;
  }

  protected async storeFork(threadId: string, namespace: string, checkpointId: string, newThreadId: string, newId: string, metadata: Metadata | undefined): Promise<boolean> {
    const rows = await this.#query<{ found: number; busy: boolean }>('fork', FORK_SQL, [
      this.tenantId,
      threadId,
      namespace,
      checkpointId,
      newThreadId,
      newId,
      metadata === undefined ? null : JSON.stringify(metadata),
    ]);
    const r = rows[0]!;
    if (r.found === 0) return false;
    if (r.busy) throw new ConflictError(`Cannot fork into thread ${JSON.stringify(newThreadId)}: it already has checkpoints`, { details: { threadId: newThreadId } });
    return true;
  }

  protected async storeWrites(
    threadId: string,
    namespace: string,
    checkpointId: string,
    writes: StoredWrite[],
    mode: WriteConflictMode,
    requireCheckpoint: boolean,
  ): Promise<boolean> {
    const values = [
      this.tenantId,
      threadId,
      namespace,
      checkpointId,
      requireCheckpoint,
      writes.map((w) => w.taskId),
      writes.map((w) => w.taskPath),
      writes.map((w) => w.idx),
      writes.map((w) => w.channel),
      writes.map((w) => buf(w.value.bytes)),
      writes.map((w) => w.value.format),
    ];
    let writable: boolean;
    if (mode === 'replace') {
      // Replacing a task's writes is a delete and an insert; two overlapping calls in one statement
      // each would see the table as it was before either, and leave a mix of both. Serialise the
      // replacing calls of one checkpoint: the statement's snapshot is taken after the lock.
      const statement = writesSql(mode);
      const { rows } = await this.#run('putWrites', () =>
        runTransaction(this.db.pool, async (client) => {
          await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 1))', [JSON.stringify([this.tenantId, threadId, namespace, checkpointId])]);
          return client.query<{ writable: boolean }>({ ...statement, values });
        }).catch((error: unknown) => {
          // Replacing the same writes twice leaves the same rows: a lost COMMIT may be retried.
          throw error instanceof CommitOutcomeUnknown ? error.original : error;
        }),
      );
      writable = rows[0]!.writable;
    } else {
      writable = (await this.#query<{ writable: boolean }>('putWrites', writesSql(mode), values))[0]!.writable;
    }
    // Not writable: missing and required, or deleted while this call waited for its lock.
    return writable;
  }

  protected async storeThreadIds(after: string | undefined, limit: number): Promise<string[]> {
    const rows = await this.#query<Row<'checkpoints', 'thread_id'>>('listThreadIds', THREAD_IDS_SQL, [this.tenantId, after ?? null, limit]);
    return rows.map((r) => r.thread_id);
  }

  /**
   * Retention, one thread at a time (a tenant-wide prune walks the tenant's threads with the
   * skip scan): the thread's rows are read with one index range scan, the rules run in
   * retention.ts (the same code as the memory backend, so the ancestor walk is a linear pass in
   * memory, not a recursive join per step), and the selected checkpoints are deleted in batches of
   * PRUNE_BATCH, children first, each its own short transaction under a statement timeout. No
   * statement's work grows with the tenant, and none holds locks for long.
   *
   * Puts keep running meanwhile and may branch from a selected checkpoint. Each batch therefore
   * locks its rows first, skipping those a running put holds as its parent; then, when ancestors
   * are kept, re-reads their children and keeps any row that gained one since the read, with its
   * ancestors in the batch (withoutNewParents); then deletes the rest by ctid. See PRUNE_LOCK_SQL.
   */
  protected async storePrune(policy: ResolvedRetentionPolicy, threadId: string | undefined): Promise<PruneResult> {
    const result: PruneResult = { deleted: 0, threads: {} };
    if (policy.keepLast === undefined && policy.maxAgeDays === undefined) return result;
    const pruneThread = async (thread: string) => {
      const deleted = await this.#pruneThread(thread, policy);
      if (deleted > 0) {
        result.threads[thread] = deleted;
        result.deleted += deleted;
      }
    };
    if (threadId !== undefined) {
      await pruneThread(threadId);
      return result;
    }
    for (let after: string | undefined; ; ) {
      const page = await this.storeThreadIds(after, PRUNE_THREAD_PAGE);
      for (const thread of page) await pruneThread(thread);
      if (page.length < PRUNE_THREAD_PAGE) return result;
      after = page.at(-1);
    }
  }

  async #pruneThread(threadId: string, policy: ResolvedRetentionPolicy): Promise<number> {
    const rows = await this.#query<PruneCandidate>('prune', PRUNE_ROWS_SQL, [this.tenantId, threadId]);
    if (rows.length === 0) return 0;
    const now = rows[0]!.now;
    const doomed = selectPrunable(
      rows.map((r) => ({ threadId, namespace: r.checkpoint_ns, checkpointId: r.checkpoint_id, parentId: r.parent_checkpoint_id, createdAt: r.created_at })),
      policy,
      now,
    );
    let deleted = 0;
    for (let i = 0; i < doomed.length; i += PRUNE_BATCH) {
      const batch = doomed.slice(i, i + PRUNE_BATCH);
      deleted += await this.#run('prune', () =>
        runTransaction(this.db.pool, async (client) => {
          // A batch that cannot finish in time is rolled back whole and reported, not left holding locks.
          await client.query(`SELECT set_config('statement_timeout', $1, true)`, [`${PRUNE_STATEMENT_TIMEOUT_MS}ms`]);
          const locked = (await client.query<LockedRow>(PRUNE_LOCK_SQL, [this.tenantId, threadId, batch.map((r) => r.namespace), batch.map((r) => r.checkpointId)])).rows.map(
            (r) => ({ ctid: r.ctid, namespace: r.checkpoint_ns, checkpointId: r.checkpoint_id, parentId: r.parent_checkpoint_id }),
          );
          let going = locked;
          if (policy.keepAncestors && locked.length > 0) {
            const { rows: children } = await client.query<LinkShape>(PRUNE_CHILDREN_SQL, [
              this.tenantId,
              threadId,
              locked.map((r) => r.namespace),
              locked.map((r) => r.checkpointId),
            ]);
            going = withoutNewParents(
              locked,
              children.map((c) => ({ namespace: c.checkpoint_ns, checkpointId: c.checkpoint_id, parentId: c.parent_checkpoint_id })),
            );
          }
          if (going.length === 0) return 0;
          const { rows } = await client.query<{ deleted: number }>(PRUNE_DELETE_SQL, [this.tenantId, threadId, going.map((r) => r.ctid)]);
          return rows[0]?.deleted ?? 0;
        }).catch((error: unknown) => {
          // Deleting the same rows again deletes nothing more: a lost COMMIT may be retried.
          throw error instanceof CommitOutcomeUnknown ? error.original : error;
        }),
      );
    }
    return deleted;
  }

  async healthCheck(): Promise<CheckpointerHealth> {
    const started = performance.now();
    if (this.closed) return { ok: false, backend: 'postgres', latencyMs: 0, error: 'closed' };
    try {
      // Touches the table too, so a database without the Cairn migrations reports unhealthy.
      await this.db.pool.query({ name: 'cairn_cp_health', text: 'SELECT 1 FROM checkpoints WHERE tenant_id = $1 LIMIT 1', values: [this.tenantId] });
      const redis = this.options.redis && (await this.options.redis.connection.healthCheck());
      return {
        ok: true,
        backend: 'postgres',
        latencyMs: performance.now() - started,
        // Redis is optional: its outage degrades speed, not correctness, so `ok` stays true.
        ...(redis ? { redis: { ok: redis.ok, ...(redis.error ? { error: redis.error } : {}) } } : {}),
      };
    } catch (error) {
      return { ok: false, backend: 'postgres', latencyMs: performance.now() - started, error: (error as Error).message };
    }
  }

  protected async closeStorage(): Promise<void> {
    this.#cache?.close();
    if (this.#ownsDb) await this.db.close();
  }
}
