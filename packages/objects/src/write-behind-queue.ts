// The write-behind queue: writes are appended in call order and one worker persists them in that
// order, a batch per transaction, so what survives a crash is always a prefix of the queue.
// Loss window: everything queued but not yet committed (at most the queue's content) is lost if
// the process dies; `flush()` / `QueuedWrite.persisted()` say when a write is durable.
import type pg from 'pg';
import { FlushTimeoutError, StoreClosedError, WriteBehindError, WriteQueueFullError, type QueuedWriteInfo } from './errors.js';
import type { ResolvedWriteBehindOptions } from './options.js';
import { inClientTransaction } from './client-transaction.js';

/** One write waiting in the queue. */
export interface QueueEntry<R = unknown> {
  readonly info: QueuedWriteInfo;
  /** The statement that persists it (one statement per write). */
  readonly statement: pg.QueryConfig;
  /** Turns the statement's rows into what `persisted()` resolves to. */
  readonly toResult: (rows: pg.QueryResultRow[]) => R;
  state: 'queued' | 'done' | 'failed';
  result?: R;
  error?: unknown;
  listeners?: Array<{ resolve: (value: R) => void; reject: (error: unknown) => void }>;
}

/** Counters describing the queue. */
export interface WriteBehindStats {
  /** Writes queued and not yet persisted (including the batch in flight). */
  pending: number;
  /** Writes persisted since the store was created. */
  persisted: number;
  /** Writes given up after `maxAttempts` (lost). */
  dropped: number;
  /** Failed batch attempts (each reported to onError). */
  failedAttempts: number;
  /** Sequence number of the last write queued (0 before the first). */
  lastQueued: number;
  /** Every write with a sequence up to this one is persisted or dropped. */
  lastProcessed: number;
}

/** A write the queue accepted. `persisted()` resolves once it is committed (rejects if it was dropped). */
export interface QueuedWrite<R> {
  /** Position in the queue: writes are persisted in increasing sequence order. */
  readonly sequence: number;
  readonly type: string;
  readonly id: string;
  /** Resolves with the write's result once it is committed; rejects with WriteBehindError if dropped. */
  persisted(): Promise<R>;
}

interface Waiter {
  target: number;
  floor: number;
  /** flush() reports drops; internal ordering waits (drain) do not. */
  reportDrops: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function keyOf(info: QueuedWriteInfo): string {
  return `${info.tenantId}\u0000${info.type}\u0000${info.id}`;
}

/** @internal The queue behind a write-behind ObjectStore (shared by its tenant views and collections). */
export class WriteBehindQueue {
  readonly #pool: pg.Pool;
  readonly #options: ResolvedWriteBehindOptions;
  // Entries from #head on are unprocessed; compacted now and then so the array does not grow forever.
  #entries: QueueEntry[] = [];
  #head = 0;
  #seq = 0;
  #processed = 0;
  #persistedCount = 0;
  #droppedCount = 0;
  #failedAttempts = 0;
  #dropped: Array<{ sequence: number; error: unknown }> = [];
  readonly #lastSeqByKey = new Map<string, number>();
  #waiters: Waiter[] = [];
  #roomWaiters: Array<{ seq: number; resolve: () => void }> = [];
  #running = false;
  #closing = false;
  #stopped = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #wakeRetry: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  readonly #afterPersist: ((writes: Array<QueuedWriteInfo & { version: number | null }>) => Promise<void>) | undefined;

  /** `afterPersist` runs after each committed batch, before its writes count as persisted (cache invalidation). */
  constructor(pool: pg.Pool, options: ResolvedWriteBehindOptions, afterPersist?: (writes: Array<QueuedWriteInfo & { version: number | null }>) => Promise<void>) {
    this.#pool = pool;
    this.#options = options;
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
    if (this.#closing) throw new StoreClosedError('write-behind queue');
    const full = this.pending >= this.#options.maxPending;
    if (full && this.#options.whenFull === 'reject') throw new WriteQueueFullError(this.#options.maxPending);
    const seq = ++this.#seq;
    const entry: QueueEntry<R> = { info: { ...info, sequence: seq }, statement, toResult, state: 'queued' };
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
    if (entry.state === 'failed') return Promise.reject(entry.error);
    return new Promise<R>((resolve, reject) => {
      (entry.listeners ??= []).push({ resolve, reject });
    });
  }

  /** True when a write to this object is queued and not yet processed. */
  hasPending(tenantId: string, type: string, id: string): boolean {
    return this.#lastSeqByKey.has(`${tenantId}\u0000${type}\u0000${id}`);
  }

  /** Waits until every queued write to this object is processed (read-your-writes for load()). */
  async waitFor(tenantId: string, type: string, id: string): Promise<void> {
    const seq = this.#lastSeqByKey.get(`${tenantId}\u0000${type}\u0000${id}`);
    if (seq !== undefined) await this.#waitUntil(seq, false);
  }

  /**
   * Resolves once every write queued before the call is processed (persisted or dropped). Used to
   * order synchronous operations after the queued ones; never rejects.
   */
  drain(): Promise<void> {
    return this.#waitUntil(this.#seq, false);
  }

  /**
   * Resolves once every write queued before the call is persisted. Rejects with the WriteBehindError
   * if one of them was dropped.
   */
  flush(): Promise<void> {
    return this.#waitUntil(this.#seq, true);
  }

  #waitUntil(target: number, reportDrops: boolean): Promise<void> {
    if (target <= this.#processed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ target, floor: this.#processed, reportDrops, resolve, reject });
    });
  }

  stats(): WriteBehindStats {
    return {
      pending: this.pending,
      persisted: this.#persistedCount,
      dropped: this.#droppedCount,
      failedAttempts: this.#failedAttempts,
      lastQueued: this.#seq,
      lastProcessed: this.#processed,
    };
  }

  /**
   * Stops accepting writes and waits (up to `closeTimeoutMs`) for the queue to drain. On timeout
   * the worker stops and FlushTimeoutError reports how many writes were not persisted.
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
        const outcome = await Promise.race([this.flush().then(() => 'drained' as const, () => 'drained' as const), timeout]);
        if (outcome === 'timeout') {
          const pending = this.pending;
          this.#stop(new FlushTimeoutError(pending, this.#options.closeTimeoutMs));
          throw new FlushTimeoutError(pending, this.#options.closeTimeoutMs);
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
        const batch = this.#entries.slice(this.#head, this.#head + this.#options.batchSize);
        const rows = await this.#persistWithRetry(batch);
        if (this.#stopped) return;
        if (rows !== undefined && this.#afterPersist) {
          const writes = batch
            .map((entry, i) => ({ ...entry.info, version: entry.info.kind === 'save' ? ((rows[i]![0]?.version as number | undefined) ?? null) : null, changed: rows[i]!.length > 0 }))
            .filter((w) => w.changed)
            .map(({ changed: _changed, ...w }) => w);
          try {
            await this.#afterPersist(writes);
          } catch {
            // Invalidation never throws for outages (the cache degrades); anything else must not stall the queue.
          }
        }
        this.#head += batch.length;
        for (let i = 0; i < batch.length; i++) {
          const entry = batch[i]!;
          if (rows === undefined) {
            this.#droppedCount++;
            if (this.#dropped.length < 10_000) this.#dropped.push({ sequence: entry.info.sequence, error: entry.error });
          } else {
            this.#persistedCount++;
            let result: unknown;
            try {
              result = entry.toResult(rows[i]!);
            } catch (error) {
              this.#settle(entry, error);
              continue;
            }
            entry.state = 'done';
            entry.result = result;
            for (const listener of entry.listeners ?? []) listener.resolve(result);
            entry.listeners = undefined;
          }
        }
        this.#processed = batch.at(-1)!.info.sequence;
        this.#afterProgress();
      }
    } finally {
      this.#running = false;
    }
    if (!this.#stopped && this.pending > 0) this.#kick();
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
      const dropped = waiter.reportDrops ? this.#dropped.find((d) => d.sequence > waiter.floor && d.sequence <= waiter.target) : undefined;
      if (dropped === undefined) waiter.resolve();
      else waiter.reject(dropped.error);
    }
    this.#waiters = remaining;
    const room = this.#processed + this.#options.maxPending;
    while (this.#roomWaiters.length > 0 && this.#roomWaiters[0]!.seq <= room) this.#roomWaiters.shift()!.resolve();
  }

  /** Persists a batch, retrying with backoff; returns each write's rows, or undefined if the batch was dropped. */
  async #persistWithRetry(batch: QueueEntry[]): Promise<pg.QueryResultRow[][] | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#persist(batch);
      } catch (cause) {
        this.#failedAttempts++;
        const dropped = this.#options.maxAttempts > 0 && attempt >= this.#options.maxAttempts;
        const error = new WriteBehindError({ writes: batch.map((e) => e.info), attempt, dropped }, { cause });
        this.#report(error);
        if (dropped) {
          for (const entry of batch) this.#settle(entry, error);
          return undefined;
        }
        if (this.#stopped) return undefined;
        const ceiling = Math.min(this.#options.retryMaxDelayMs, this.#options.retryBaseDelayMs * 2 ** (attempt - 1));
        await new Promise<void>((resolve) => {
          this.#wakeRetry = resolve;
          this.#retryTimer = setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2));
        });
        this.#wakeRetry = undefined;
        if (this.#stopped) return undefined;
      }
    }
  }

  #report(error: WriteBehindError): void {
    try {
      this.#options.onError(error);
    } catch {
      // The handler's own failure has nowhere better to go; the write is still retried or reported as dropped.
    }
  }

  async #persist(batch: QueueEntry[]): Promise<pg.QueryResultRow[][]> {
    if (batch.length === 1) {
      const { rows } = await this.#pool.query(batch[0]!.statement);
      return [rows];
    }
    return inClientTransaction(this.#pool, 'BEGIN', async (client) => {
      const results: pg.QueryResultRow[][] = [];
      for (const entry of batch) results.push((await client.query(entry.statement)).rows);
      return results;
    });
  }
}
