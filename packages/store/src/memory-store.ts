// CairnMemoryStore: the store in this process's memory, with exactly CairnStore's semantics
// (the same plan, core's filter evaluator, exact cosine similarity): for tests and for
// applications that need no persistence. Several stores may share one MemoryStoreData, each
// seeing only its own tenant, as stores on one database do.
import type { Item, SearchItem } from '@langchain/langgraph-checkpoint';
import { compareCodePoints, matchesFilter, type JsonObject } from '@cairn/core';
import { BaseCairnStore, type BatchResult, type PreparedBatch, type PutVectors } from './base-cairn-store.js';
import { matchesCondition, namespaceLabels, namespacePath, underPrefix } from './namespace.js';
import type { PlannedList, PlannedPut, PlannedSearch } from './operations.js';
import type { StoreOptions } from './options.js';

interface MemoryRecord {
  readonly tenantId: string;
  readonly namespace: string;
  readonly key: string;
  value: JsonObject;
  createdAt: number;
  updatedAt: number;
  expiresAt: number | undefined;
  ttlMinutes: number | undefined;
  vectors: Map<string, number[]>;
}

/** The items of one or more CairnMemoryStores. */
export class MemoryStoreData {
  /** @internal by tenant, namespace and key. */
  readonly records = new Map<string, MemoryRecord>();
}

const recordKey = (tenantId: string, namespace: string, key: string) => `${tenantId}\u0000${namespace}\u0000${key}`;

/** Newest update first, then namespace and key in code-point order: CairnStore's order. */
function byRecency(a: MemoryRecord, b: MemoryRecord): number {
  return b.updatedAt - a.updatedAt || compareCodePoints(a.namespace, b.namespace) || compareCodePoints(a.key, b.key);
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/** A BaseStore in memory with CairnStore's semantics. */
export class CairnMemoryStore extends BaseCairnStore {
  readonly #data: MemoryStoreData;

  constructor(options?: StoreOptions, data: MemoryStoreData = new MemoryStoreData()) {
    super(options, 'memory store');
    this.#data = data;
  }

  protected async execute(batch: PreparedBatch): Promise<BatchResult[]> {
    return batch.operations.map((op, i) => {
      switch (op.kind) {
        case 'get': {
          const record = this.#live(recordKey(this.tenantId, op.namespace, op.key), batch.now);
          if (!record) return null;
          this.#refresh([record], op.refreshTtl, batch.now);
          return this.#item(record);
        }
        case 'search':
          return this.#search(op, batch.queryVectors.get(i), batch.now);
        case 'put':
          this.#put(op, batch.putVectors.get(i), batch.now);
          return undefined;
        case 'list':
          return this.#list(op, batch.now);
      }
    });
  }

  protected async sweepExpired(now: number): Promise<number> {
    let deleted = 0;
    for (const [k, record] of this.#data.records) {
      if (record.tenantId === this.tenantId && record.expiresAt !== undefined && record.expiresAt <= now) {
        this.#data.records.delete(k);
        deleted += 1;
      }
    }
    return deleted;
  }

  protected async prepareStorage(): Promise<void> {}

  protected async release(): Promise<void> {}

  #live(k: string, now: number): MemoryRecord | undefined {
    const record = this.#data.records.get(k);
    return record && (record.expiresAt === undefined || record.expiresAt > now) ? record : undefined;
  }

  #tenantRecords(now: number): MemoryRecord[] {
    const out: MemoryRecord[] = [];
    for (const record of this.#data.records.values()) {
      if (record.tenantId === this.tenantId && (record.expiresAt === undefined || record.expiresAt > now)) out.push(record);
    }
    return out;
  }

  #refresh(records: readonly MemoryRecord[], refreshTtl: boolean | undefined, now: number): void {
    if (!(refreshTtl ?? this.options.ttl.refreshOnRead)) return;
    for (const record of records) if (record.ttlMinutes !== undefined) record.expiresAt = now + record.ttlMinutes * 60_000;
  }

  #item(record: MemoryRecord): Item {
    return {
      namespace: namespaceLabels(record.namespace),
      key: record.key,
      value: structuredClone(record.value),
      createdAt: new Date(record.createdAt),
      updatedAt: new Date(record.updatedAt),
    };
  }

  #search(op: PlannedSearch, query: number[] | undefined, now: number): SearchItem[] {
    const matching = this.#tenantRecords(now).filter((r) => underPrefix(r.namespace, op.prefix) && matchesFilter(op.filter, r.value));
    let page: { record: MemoryRecord; score?: number }[];
    if (query) {
      const scored: { record: MemoryRecord; score: number }[] = [];
      for (const record of matching) {
        let best: number | undefined;
        for (const vector of record.vectors.values()) {
          const score = cosine(query, vector);
          if (best === undefined || score > best) best = score;
        }
        if (best !== undefined) scored.push({ record, score: best });
      }
      scored.sort((a, b) => b.score - a.score || compareCodePoints(a.record.namespace, b.record.namespace) || compareCodePoints(a.record.key, b.record.key));
      page = scored.slice(op.offset, op.offset + op.limit);
    } else {
      page = matching
        .sort(byRecency)
        .slice(op.offset, op.offset + op.limit)
        .map((record) => ({ record }));
    }
    this.#refresh(
      page.map((p) => p.record),
      op.refreshTtl,
      now,
    );
    return page.map(({ record, score }) => (score === undefined ? this.#item(record) : { ...this.#item(record), score }));
  }

  #put(op: PlannedPut, vectors: PutVectors | undefined, now: number): void {
    const k = recordKey(this.tenantId, op.namespace, op.key);
    if (op.value === null) {
      this.#data.records.delete(k);
      return;
    }
    const ttl = op.ttl === undefined ? this.options.ttl.defaultTtl : (op.ttl ?? undefined);
    const existing = this.#live(k, now);
    const fresh = new Map<string, number[]>();
    vectors?.fields.forEach((field, i) => fresh.set(field, [...vectors.vectors[i]!]));
    this.#data.records.set(k, {
      tenantId: this.tenantId,
      namespace: op.namespace,
      key: op.key,
      value: structuredClone(op.value),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
      expiresAt: ttl === undefined ? undefined : now + ttl * 60_000,
      ttlMinutes: ttl,
      vectors: fresh,
    });
  }

  #list(op: PlannedList, now: number): string[][] {
    const paths = new Set<string>();
    for (const record of this.#tenantRecords(now)) {
      let labels = namespaceLabels(record.namespace);
      if (!op.conditions.every((c) => matchesCondition(labels, c))) continue;
      if (op.maxDepth !== undefined) labels = labels.slice(0, op.maxDepth);
      paths.add(namespacePath(labels));
    }
    return [...paths]
      .sort(compareCodePoints)
      .slice(op.offset, op.offset + op.limit)
      .map(namespaceLabels);
  }
}
