// One collection of documents in the shared `documents` table (rows keyed by tenant, collection,
// id): its public methods, which check their input and hand the work to ingest.ts (writes in),
// search-plan.ts (which statements answer a search) and document-sql.ts (the other statements).
//
// Statements go through RagStorage (retried after transient failures, mapped to typed errors).
// What is retried, per operation: reads, always; upserts and update() too, even after a lost
// COMMIT, because their input (validated and embedded before anything is sent) is in memory and
// writing the same rows twice leaves the same rows; delete, clear and refreshTextIndex as well (a
// second run changes nothing more, though its count then misses what the lost first run did); a
// bulk load only until it starts reading its source, which cannot be read twice.
import type { Row } from '@cairn/db';
import { z } from 'zod';
import { InvalidFilterError, ValidationError, parseInput } from '@cairn/core';
import type { CollectionContext, CollectionScope } from './collection-context.js';
import {
  CLEAR_SQL,
  DELETE_BY_IDS_SQL,
  REFRESH_TEXT_INDEX_SQL,
  UPDATE_SQL,
  countDocumentsSql,
  deleteWhereSql,
  getDocumentsSql,
  listDocumentsSql,
  type DocumentRow,
} from './document-sql.js';
import type { Embedder, EmbedOptions } from './embedder.js';
import { DocumentNotFoundError, EmbedderRequiredError } from './errors.js';
import { isEmptyFilter, type MetadataFilter } from './filter.js';
import { ingestStream, prepareUpdates, upsertDocuments, type IngestResult, type UpsertResult } from './ingest.js';
import {
  DocumentInputSchema,
  DocumentUpdateSchema,
  GetOptionsSchema,
  HybridSearchOptionsSchema,
  IngestOptionsSchema,
  ListOptionsSchema,
  ReembedOptionsSchema,
  UpdateOptionsSchema,
  UpsertOptionsSchema,
  DocumentIdSchema,
  type DocumentInput,
  type DocumentUpdate,
  type GetOptions,
  type HybridSearchOptions,
  type IngestOptions,
  type ListOptions,
  type Metadata,
  type ReembedOptions,
  type OpenedCollectionOptions,
  type SearchOptions,
  type UpdateOptions,
  type UpsertOptions,
} from './options.js';
import { embedQuery, planHybridSearch, planVectorSearch, type HitRow, type HybridSearchResult, type SearchResult } from './search-plan.js';
import type { CreateIndexOptions, CreateIndexResult } from './vector-index.js';
import { encodeVectorArray, parseVector, scoreFromDistance, type Metric, type VectorInput } from './vector.js';

/** A stored document. */
export interface StoredDocument<M extends Metadata = Metadata> {
  id: string;
  content: string;
  metadata: M;
  /** Present when asked for (`includeEmbedding`). */
  embedding?: number[];
  createdAt: Date;
  updatedAt: Date;
}

const DeleteInputSchema = z.union([
  z.array(DocumentIdSchema).max(100_000),
  z.object({ where: z.custom<MetadataFilter>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a filter object') }).strict(),
]);
const IdsSchema = z.array(DocumentIdSchema).max(100_000);
const CountOptionsSchema = z
  .object({ where: z.custom<MetadataFilter>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a filter object').optional() })
  .strict();

function toStored<M extends Metadata>(row: DocumentRow<M>): StoredDocument<M> {
  return {
    id: row.id,
    content: row.content,
    metadata: row.metadata,
    ...(row.embedding !== undefined ? { embedding: parseVector(row.embedding) } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * A collection of documents with embeddings of one dimension and metric. Get one with
 * `rag.collection(name, options)`; it is a light handle (no state beyond its settings).
 */
export class PgVectorCollection<M extends Metadata = Metadata> {
  readonly name: string;
  readonly tenantId: string;
  readonly dimensions: number;
  readonly metric: Metric;
  /** Text search configuration for `tsv` and hybrid search. */
  readonly language: string;
  readonly embedder: Embedder | undefined;
  readonly #ctx: CollectionContext;
  readonly #scope: CollectionScope;

  /** @internal use rag.collection(). */
  constructor(ctx: CollectionContext, name: string, options: OpenedCollectionOptions, embedder: Embedder | undefined) {
    this.#ctx = ctx;
    this.name = name;
    this.tenantId = ctx.tenantId;
    this.dimensions = options.dimensions;
    this.metric = options.metric;
    this.language = options.language;
    this.embedder = embedder;
    this.#scope = { ctx, name, options, embedder };
  }

  /** Keeps the pool and embedder (which may hold an API key) out of logs. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, tenantId: this.tenantId, dimensions: this.dimensions, metric: this.metric, language: this.language, embedder: this.embedder?.id };
  }

  // ---------------------------------------------------------------- writes

  /**
   * Inserts or replaces documents by id. Documents without `embedding` are embedded with the
   * collection's embedder first. All-or-nothing: every document is validated and embedded before
   * anything is written, and all batches commit in one transaction.
   */
  async upsert(documents: readonly DocumentInput<M>[], options: UpsertOptions = {}): Promise<UpsertResult> {
    this.#ctx.assertOpen();
    const opts = parseInput(UpsertOptionsSchema, options, 'upsert options');
    const docs = parseInput(z.array(DocumentInputSchema).max(1_000_000), documents, 'documents');
    return upsertDocuments(this.#scope, docs, opts);
  }

  /**
   * Streams documents in: pulls from `source` in batches, embeds and writes up to `concurrency`
   * batches at a time (memory stays bounded however long the source is), and reports progress
   * after every committed batch. Each batch is atomic; when one fails, the ingest stops and throws
   * IngestError with the count already committed (re-running is safe: upserts are idempotent).
   * With `rebuildIndexes` (a bulk load) the whole ingest is one transaction instead, around which
   * the vector indexes are dropped and re-created (see IngestOptions.rebuildIndexes).
   */
  async upsertStream(source: AsyncIterable<DocumentInput<M>> | Iterable<DocumentInput<M>>, options: IngestOptions = {}): Promise<IngestResult> {
    this.#ctx.assertOpen();
    const opts = parseInput(IngestOptionsSchema, options, 'ingest options');
    return ingestStream(this.#scope, source, opts);
  }

  /**
   * Copies this collection's documents (ids, content, metadata) into `target`, whose embedder
   * embeds them anew: the way to move to another model (another dimension) without downtime.
   * Readers keep searching this collection while it runs; switch them to `target` afterwards.
   * Documents are read in id order, a page of the ingest's batch size at a time (bounded memory),
   * and written with `target.upsertStream` (each batch atomic; `onProgress`, `signal`, `concurrency`
   * as there). Running it again is cheap and safe: documents already in `target` with unchanged
   * content keep their vectors without another embedding call, so a second run after the switch
   * catches up the writes made to this collection meanwhile. Deletions are not carried over.
   */
  async reembedInto(target: PgVectorCollection, options: ReembedOptions = {}): Promise<IngestResult> {
    this.#ctx.assertOpen();
    const opts = parseInput(ReembedOptionsSchema, options, 'reembed options');
    if (!(target instanceof PgVectorCollection)) {
      throw new ValidationError('reembedInto arguments', [{ path: 'target', message: 'must be a collection from rag.collection()' }]);
    }
    if (target.tenantId === this.tenantId && target.name === this.name) {
      throw new ValidationError('reembedInto arguments', [{ path: 'target', message: `is collection "${this.name}" itself; give a new collection` }]);
    }
    if (!target.embedder) {
      throw new EmbedderRequiredError(`Collection "${target.name}" has no embedder, which is needed to re-embed "${this.name}" into it. Open it with one.`);
    }
    const pageSize = opts.batchSize ?? this.#scope.options.batchSize;
    const read = (after: string | undefined) => this.list({ limit: pageSize, ...(after === undefined ? {} : { after }) });
    async function* pages(): AsyncGenerator<DocumentInput> {
      let after: string | undefined;
      for (;;) {
        const page = await read(after);
        for (const d of page) yield { id: d.id, content: d.content, metadata: d.metadata };
        if (page.length < pageSize) return;
        after = page[page.length - 1]!.id;
      }
    }
    return target.upsertStream(pages(), opts);
  }

  /**
   * Changes existing documents: new content (re-embedded unless `embedding` is given; the text
   * index follows), metadata (replaced, or merged with `mergeMetadata`), embedding. Throws
   * DocumentNotFoundError, writing nothing, when any id does not exist. Returns the number updated.
   */
  async update(updates: readonly DocumentUpdate<M>[], options: UpdateOptions & EmbedOptions = {}): Promise<number> {
    this.#ctx.assertOpen();
    const { signal, ...rest } = options;
    const opts = parseInput(UpdateOptionsSchema, rest, 'update options');
    const list = parseInput(z.array(DocumentUpdateSchema).max(100_000), updates, 'updates');
    if (list.length === 0) return 0;
    const changes = await prepareUpdates(this.#scope, list, signal);
    const values = [
      this.tenantId,
      this.name,
      this.language,
      opts.mergeMetadata,
      changes.map((u) => u.id),
      changes.map((u) => u.content),
      changes.map((u) => u.metadata),
      encodeVectorArray(
        changes.map((u) => u.embedding),
        this.#ctx.vectorOid,
      ),
      changes.map((u) => u.embeddedBy),
    ];
    // Replayed like an upsert: the vectors are computed, and setting the same values (or merging
    // the same keys) twice gives the same rows.
    return this.#ctx.storage.transaction(
      'update',
      async (client) => {
        const { rows } = await client.query<Row<'documents', 'id'>>(UPDATE_SQL, values);
        if (rows.length !== changes.length) {
          const found = new Set(rows.map((r) => r.id));
          throw new DocumentNotFoundError(
            this.name,
            changes.filter((u) => !found.has(u.id)).map((u) => u.id),
          );
        }
        return rows.length;
      },
      'replay',
    );
  }

  /** Deletes documents by id, or those matching `{ where }` (a non-empty filter). Returns how many. */
  async delete(idsOrFilter: readonly string[] | { where: MetadataFilter }): Promise<number> {
    this.#ctx.assertOpen();
    const input = parseInput(DeleteInputSchema, idsOrFilter, 'delete input');
    if (Array.isArray(input)) {
      if (input.length === 0) return 0;
      const r = await this.#ctx.storage.query('delete', DELETE_BY_IDS_SQL, [this.tenantId, this.name, input]);
      return r.rowCount ?? 0;
    }
    const where = input.where;
    if (isEmptyFilter(where)) {
      throw new InvalidFilterError([{ path: 'where', message: 'is empty; to delete every document of the collection, call clear()' }]);
    }
    const statement = deleteWhereSql(this.tenantId, this.name, where);
    const r = await this.#ctx.storage.query('delete', statement.text, statement.values);
    return r.rowCount ?? 0;
  }

  /** Deletes every document of the collection (this tenant's). Returns how many. */
  async clear(): Promise<number> {
    this.#ctx.assertOpen();
    const r = await this.#ctx.storage.query('clear', CLEAR_SQL, [this.tenantId, this.name]);
    return r.rowCount ?? 0;
  }

  /**
   * Recomputes the full-text vectors (`tsv`) of every document with the collection's language,
   * after changing the language. Documents longer than FULL_TEXT_MAX_BYTES are left without one
   * (see CollectionOptions.longDocuments). Returns how many rows it rewrote.
   */
  async refreshTextIndex(): Promise<number> {
    this.#ctx.assertOpen();
    const r = await this.#ctx.storage.query('refreshTextIndex', REFRESH_TEXT_INDEX_SQL, [this.tenantId, this.name, this.language]);
    return r.rowCount ?? 0;
  }

  // ---------------------------------------------------------------- reads

  /** The documents with these ids, in the order asked, skipping ids that do not exist. */
  async get(ids: readonly string[], options: GetOptions = {}): Promise<StoredDocument<M>[]> {
    this.#ctx.assertOpen();
    const list = parseInput(IdsSchema, ids, 'ids');
    const opts = parseInput(GetOptionsSchema, options, 'get options');
    if (list.length === 0) return [];
    const { rows } = await this.#ctx.storage.query<DocumentRow<M>>('get', getDocumentsSql(opts.includeEmbedding), [this.tenantId, this.name, list]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const out: StoredDocument<M>[] = [];
    for (const id of new Set(list)) {
      const row = byId.get(id);
      if (row) out.push(toStored(row));
    }
    return out;
  }

  /** A page of documents in id order (keyset pagination with `after`), optionally filtered. */
  async list(options: ListOptions = {}): Promise<StoredDocument<M>[]> {
    this.#ctx.assertOpen();
    const opts = parseInput(ListOptionsSchema, options, 'list options');
    const statement = listDocumentsSql(this.tenantId, this.name, opts);
    const { rows } = await this.#ctx.storage.query<DocumentRow<M>>('list', statement.text, statement.values);
    return rows.map(toStored);
  }

  /** Number of documents, optionally matching a filter. */
  async count(options: { where?: MetadataFilter } = {}): Promise<number> {
    this.#ctx.assertOpen();
    const opts = parseInput(CountOptionsSchema, options, 'count options');
    const statement = countDocumentsSql(this.tenantId, this.name, opts.where);
    const { rows } = await this.#ctx.storage.query<{ n: string }>('count', statement.text, statement.values);
    return Number(rows[0]!.n);
  }

  // ---------------------------------------------------------------- search

  /**
   * The k documents nearest to `vector`, best first, optionally filtered. Uses the vector index
   * when one serves the metric (iterative scan, so filters still return k results when k rows
   * match), falling back to an exact scan when the index scan comes up short; `exact: true`
   * always scans exactly. See SearchResult for what `score` means per metric.
   */
  async searchByVector(vector: VectorInput, options: SearchOptions = {}): Promise<SearchResult<M>[]> {
    this.#ctx.assertOpen();
    const plan = await planVectorSearch(this.#scope, vector, options);
    type SearchRow = HitRow<M, { distance: number }>;
    let { rows } = await this.#ctx.storage.query<SearchRow>('search', plan.first.text, plan.first.values);
    if (rows.length < plan.k && plan.iterating) {
      // 'auto' scanned without iterating and other collections' rows crowded this one's out.
      this.#ctx.unfilteredScanCameUpShort();
      const again = plan.iterating();
      rows = (await this.#ctx.storage.query<SearchRow>('search', again.text, again.values)).rows;
    }
    // Index scans stop at maxScanTuples (or ef_search without iterative scans); when that left
    // fewer than k rows, answer exactly instead. Rare, so it costs a round trip only then.
    if (rows.length < plan.k && plan.fallback) {
      const exact = plan.fallback();
      rows = (await this.#ctx.storage.query<SearchRow>('search', exact.text, exact.values)).rows;
    }
    rows.sort((a, b) => a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const kept = plan.maxDistance === undefined ? rows : rows.filter((r) => r.distance <= plan.maxDistance!);
    return kept.map((r) => ({
      id: r.id,
      content: r.content,
      metadata: r.metadata,
      score: scoreFromDistance(this.metric, r.distance),
      distance: r.distance,
      ...(r.embedding !== undefined ? { embedding: parseVector(r.embedding) } : {}),
    }));
  }

  /**
   * PostgreSQL's plan for searchByVector with these options (EXPLAIN; with `analyze`, EXPLAIN
   * ANALYZE, which runs the query): to see which index serves a query and how many rows an
   * iterative scan visited.
   */
  async explainSearch(vector: VectorInput, options: SearchOptions & { analyze?: boolean } = {}): Promise<string> {
    this.#ctx.assertOpen();
    const { analyze = false, ...rest } = options;
    const { first } = await planVectorSearch(this.#scope, vector, rest);
    // Retried like any read: EXPLAIN ANALYZE runs the search, which changes nothing.
    const { rows } = await this.#ctx.storage.query<{ 'QUERY PLAN': string }>('explainSearch', `EXPLAIN ${analyze ? '(ANALYZE, BUFFERS) ' : ''}${first.text}`, first.values);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  }

  /** Embeds `text` with the collection's embedder, then searchByVector(). */
  async search(text: string, options: SearchOptions & EmbedOptions = {}): Promise<SearchResult<M>[]> {
    this.#ctx.assertOpen();
    const { signal, ...rest } = options;
    const vector = await embedQuery(this.#scope, text, signal);
    return this.searchByVector(vector, rest);
  }

  /**
   * Full-text search (websearch syntax: `"exact phrase"`, `or`, `-exclude`, in the collection's
   * language) fused with vector search by weighted reciprocal rank fusion, in one SQL statement.
   * The query vector is `options.vector`, else the embedding of `text` (skipped when the vector
   * weight is 0). `minScore` applies to the fused score.
   */
  async hybridSearch(text: string, options: HybridSearchOptions & EmbedOptions = {}): Promise<HybridSearchResult<M>[]> {
    this.#ctx.assertOpen();
    const { signal, ...rest } = options;
    const opts = parseInput(HybridSearchOptionsSchema, rest, 'hybrid search options');
    const statement = await planHybridSearch(this.#scope, text, opts, signal);
    const { rows } = await this.#ctx.storage.query<
      HitRow<M, { score: number; vector_rank: string | null; text_rank: string | null; distance: number | null }>
    >('hybridSearch', statement.text, statement.values);
    return rows.map((r) => ({
      id: r.id,
      content: r.content,
      metadata: r.metadata,
      score: r.score,
      vectorRank: r.vector_rank === null ? null : Number(r.vector_rank),
      textRank: r.text_rank === null ? null : Number(r.text_rank),
      vectorScore: r.distance === null ? null : scoreFromDistance(this.metric, r.distance),
      ...(r.embedding !== undefined ? { embedding: parseVector(r.embedding) } : {}),
    }));
  }

  /**
   * Creates an index for this collection only (a partial index with the collection's metric).
   * See Rag.createIndex for the options and the trade-offs.
   */
  createIndex(options: Omit<CreateIndexOptions, 'collection' | 'metric' | 'dimensions'> = {}): Promise<CreateIndexResult> {
    this.#ctx.assertOpen();
    return this.#ctx.createIndex({ ...options, dimensions: this.dimensions, metric: this.metric, collection: this.name });
  }
}
