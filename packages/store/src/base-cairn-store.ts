// What both stores share: LangGraph's BaseStore methods with Cairn's additions (a put's `ttl`, a
// read's `refreshTtl`), the checked plan of a batch, the embedding of what a batch indexes and
// queries (one embedder call for a batch's documents, before any storage work), and the sweeper.
// A backend executes the plan: CairnStore on PostgreSQL, CairnMemoryStore in this process.
import { BaseStore, type Item, type Operation, type OperationResults, type SearchItem } from '@langchain/langgraph-checkpoint';
import { ClosedError, parseInput } from '@cairn/core';
import { CheckedEmbedder } from './embedder.js';
import { parseFieldPath, textsToEmbed, type FieldPath } from './field-paths.js';
import { checkNamespace } from './namespace.js';
import { planOperation, type OperationExtras, type PlannedOperation } from './operations.js';
import { StoreOptionsSchema, type ResolvedStoreOptions, type StoreOptions } from './options.js';

/** The vectors a put writes: one per concrete field path. An empty list removes the item's vectors. */
export interface PutVectors {
  readonly fields: readonly string[];
  readonly vectors: readonly number[][];
}

/** A batch ready to run: its plan, the vectors of its puts and queries (by operation index), and the time. */
export interface PreparedBatch {
  readonly operations: readonly PlannedOperation[];
  /** For puts of a value when semantic search is configured. */
  readonly putVectors: ReadonlyMap<number, PutVectors>;
  /** For searches with a query when semantic search is configured. */
  readonly queryVectors: ReadonlyMap<number, number[]>;
  /** Milliseconds since the epoch, from the store's clock, for every timestamp and expiry check of the batch. */
  readonly now: number;
}

/** What a backend answers per operation. */
export type BatchResult = Item | SearchItem[] | string[][] | null | undefined;

/** Options of get() beside LangGraph's. */
export interface GetOptions {
  /** Move the item's expiry to now + its ttl. @defaultValue the store's `ttl.refreshOnRead` */
  refreshTtl?: boolean;
}

/** Options of search(). */
export interface SearchOptions extends GetOptions {
  /** Cairn's filter language over the value: equality, `$eq $ne $gt $gte $lt $lte $in $nin $exists $contains`, `$and $or $not`, dotted paths. */
  filter?: Record<string, unknown>;
  /** @defaultValue 10 */
  limit?: number;
  /** @defaultValue 0 */
  offset?: number;
  /** Rank by similarity to this text (when the store has an index config). */
  query?: string;
}

/** Options of put() beside the index. */
export interface PutOptions {
  /** Minutes until the item expires; null: never. @defaultValue the store's `ttl.defaultTtl` */
  ttl?: number | null;
}

/** The base of CairnStore and CairnMemoryStore. */
export abstract class BaseCairnStore extends BaseStore {
  /** The options, checked, defaults applied. */
  readonly options: ResolvedStoreOptions;
  protected readonly embedder: CheckedEmbedder | undefined;
  protected readonly indexFields: readonly FieldPath[];
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<number> | undefined;
  #closed = false;

  protected constructor(options: StoreOptions | undefined, component: string) {
    super();
    this.options = parseInput(StoreOptionsSchema, options ?? {}, `${component} options`);
    const index = this.options.index;
    this.embedder = index ? new CheckedEmbedder(index.embed, index.dims) : undefined;
    this.indexFields = index ? index.fields.map((f) => parseFieldPath(f)!) : [];
  }

  /** The tenant every operation is scoped to. */
  get tenantId(): string {
    return this.options.tenantId;
  }

  /** Runs the operations in order (each sees the ones before it) and answers one result per operation. */
  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    this.assertOpen();
    const plan = (operations as (Operation & OperationExtras)[]).map((op) => planOperation(op, this.options.maxLimit));
    const prepared = await this.#prepare(plan);
    return (await this.execute(prepared)) as OperationResults<Op>;
  }

  override async get(namespace: string[], key: string, options: GetOptions = {}): Promise<Item | null> {
    checkNamespace(namespace, { allowEmpty: true, allowReservedRoot: true });
    const [item] = await this.batch([{ namespace, key, ...options }]);
    return item ?? null;
  }

  override async search(namespacePrefix: string[], options: SearchOptions = {}): Promise<SearchItem[]> {
    checkNamespace(namespacePrefix, { allowEmpty: true, allowReservedRoot: true });
    const [items] = await this.batch([{ namespacePrefix, ...options }]);
    return items ?? [];
  }

  /** Stores an item (`index`: false for no vectors, else field paths instead of the config's; `options.ttl` in minutes). */
  override async put(namespace: string[], key: string, value: Record<string, unknown>, index?: false | string[], options: PutOptions = {}): Promise<void> {
    checkNamespace(namespace);
    await this.batch([{ namespace, key, value, index, ...options }]);
  }

  /**
   * Deletes expired items (and their vectors) of this tenant, `ttl.sweepBatchSize` per statement,
   * and answers how many. Expired items are never returned even before a sweep; this reclaims space.
   */
  sweep(): Promise<number> {
    this.assertOpen();
    // One sweep at a time: the timer's and a caller's share it.
    this.#sweeping ??= this.sweepExpired(this.options.clock.now()).finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  /** Prepares storage (the vector index of the configured dimension) and starts the sweeper timer if configured. */
  override async start(): Promise<void> {
    this.assertOpen();
    await this.prepareStorage();
    const minutes = this.options.ttl.sweepIntervalMinutes;
    if (minutes !== undefined && this.#timer === undefined) {
      this.#timer = setInterval(() => {
        // A failed background sweep is retried at the next tick; nothing is lost by waiting.
        this.sweep().catch(() => undefined);
      }, minutes * 60_000);
      this.#timer.unref();
    }
  }

  /** Stops the sweeper timer. The store stays usable; close() releases it. */
  override async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the sweeper and releases what the store owns; later calls fail with ClosedError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.stop();
    this.#closed = true;
    await this.#sweeping?.catch(() => undefined);
    await this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  protected assertOpen(): void {
    if (this.#closed) throw new ClosedError(this.constructor.name);
  }

  /** Runs a prepared batch. */
  protected abstract execute(batch: PreparedBatch): Promise<BatchResult[]>;
  /** Deletes this tenant's items expired at `now`; answers how many. */
  protected abstract sweepExpired(now: number): Promise<number>;
  /** Creates what the configured index needs (idempotent). */
  protected abstract prepareStorage(): Promise<void>;
  /** Releases what the store owns (a pool it opened). */
  protected abstract release(): Promise<void>;

  async #prepare(operations: PlannedOperation[]): Promise<PreparedBatch> {
    const putVectors = new Map<number, PutVectors>();
    const queryVectors = new Map<number, number[]>();
    const embedder = this.embedder;
    if (embedder) {
      const texts: string[] = [];
      const slot = new Map<string, number>();
      const wanted: { op: number; fields: string[]; slots: number[] }[] = [];
      operations.forEach((op, i) => {
        if (op.kind !== 'put' || op.value === null) return;
        const found = op.index === false ? [] : textsToEmbed(op.value, op.index ?? this.indexFields);
        const slots = found.map(({ text }) => {
          let at = slot.get(text);
          if (at === undefined) {
            at = texts.push(text) - 1;
            slot.set(text, at);
          }
          return at;
        });
        wanted.push({ op: i, fields: found.map((f) => f.field), slots });
      });
      const queryTexts = [...new Set(operations.flatMap((op) => (op.kind === 'search' && op.query !== undefined ? [op.query] : [])))];
      const [vectors, queryResults] = await Promise.all([embedder.documents(texts), Promise.all(queryTexts.map((q) => embedder.query(q)))]);
      for (const w of wanted) putVectors.set(w.op, { fields: w.fields, vectors: w.slots.map((s) => vectors[s]!) });
      const byText = new Map(queryTexts.map((q, i) => [q, queryResults[i]!]));
      operations.forEach((op, i) => {
        if (op.kind === 'search' && op.query !== undefined) queryVectors.set(i, byText.get(op.query)!);
      });
    }
    return { operations, putVectors, queryVectors, now: this.options.clock.now() };
  }
}
