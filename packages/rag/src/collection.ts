// One collection of documents in the shared `documents` table (rows keyed by tenant, collection,
// id): writes in atomic unnest batches, streaming ingest, reads, vector / text / hybrid search.
//
// Statements go through RagStorage (retried after transient failures, mapped to typed errors).
// What is retried, per operation: reads, always; upserts and update() too, even after a lost
// COMMIT, because their input (validated and embedded before anything is sent) is in memory and
// writing the same rows twice leaves the same rows; delete, clear and refreshTextIndex as well (a
// second run changes nothing more, though its count then misses what the lost first run did); a
// bulk load only until it starts reading its source, which cannot be read twice.
import type pg from 'pg';
import type { Row } from '@cairn/db';
import { z } from 'zod';
import { FULL_TEXT_MAX_BYTES, ValidationError, fitsFullTextIndex, fullTextIssue, parseInput, textIssue, utf8ByteLength } from '@cairn/core';
import { assertEmbeddings, type Embedder, type EmbedOptions } from './embedder.js';
import { InvalidFilterError } from '@cairn/core';
import { DocumentNotFoundError, EmbedderRequiredError, EmptyTextError, IngestError } from './errors.js';
import { isEmptyFilter, type MetadataFilter } from './filter.js';
import {
  DocumentInputSchema,
  DocumentUpdateSchema,
  GetOptionsSchema,
  HybridSearchOptionsSchema,
  IngestOptionsSchema,
  ListOptionsSchema,
  SearchOptionsSchema,
  UpdateOptionsSchema,
  UpsertOptionsSchema,
  DocumentIdSchema,
  type DocumentInput,
  type DocumentUpdate,
  type GetOptions,
  type HybridSearchOptions,
  type IngestOptions,
  type IngestProgress,
  type IterativeScanMode,
  type ListOptions,
  type Metadata,
  type ResolvedCollectionOptions,
  type SearchOptions,
  type UpdateOptions,
  type UpsertOptions,
} from './options.js';
import { hybridSearchSql, queryContext, vectorSearchSql } from './search-sql.js';
import { applyBuildSettings, dropVectorIndexesForLoad, recreateVectorIndexes, type CreateIndexOptions, type CreateIndexResult, type VectorIndexInfo } from './vector-index.js';
import type { Queryable, RagStorage } from './storage.js';
import { checkVector, distanceForMinScore, encodeVector, encodeVectorArray, parseVector, scoreFromDistance, type Metric, type VectorInput } from './vector.js';

/** Runs one statement: on the pool through RagStorage (retried), or on an open transaction's client. */
type Statements = <R extends pg.QueryResultRow = pg.QueryResultRow>(operation: string, text: string, values: readonly unknown[]) => Promise<pg.QueryResult<R>>;

/** A transaction's client as Statements: no retry of its own (the transaction decides). */
function onClient(client: Queryable): Statements {
  return (_operation, text, values) => client.query(text, values as unknown[]);
}

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

/**
 * A search hit. `score` depends on the metric: cosine → cosine similarity (1 − distance, in
 * [−1, 1], higher is closer); inner_product → the inner product (higher is closer); l2 →
 * Euclidean distance (lower is closer). Results come best first either way.
 */
export interface SearchResult<M extends Metadata = Metadata> {
  id: string;
  content: string;
  metadata: M;
  score: number;
  /** pgvector's raw distance for the metric (`<=>`, `<->` or `<#>`): always lower is closer. */
  distance: number;
  embedding?: number[];
}

/** A hybrid search hit: `score` is the fused RRF score (higher is better). */
export interface HybridSearchResult<M extends Metadata = Metadata> {
  id: string;
  content: string;
  metadata: M;
  /** Σ weight / (rrfK + rank) over the rankings the document appears in. */
  score: number;
  /** 1-based rank among the vector candidates, or null when not among them. */
  vectorRank: number | null;
  /** 1-based rank among the full-text matches, or null when the text did not match. */
  textRank: number | null;
  /** The metric's score (as in SearchResult) for documents among the vector candidates. */
  vectorScore: number | null;
  embedding?: number[];
}

/** Result of upsert() and upsertStream(). */
export interface UpsertResult {
  /**
   * Documents now stored as given (after collapsing repeated ids within a batch: the last one
   * wins): inserted + updated + unchanged.
   */
  upserted: number;
  /** Of those, how many were new. */
  inserted: number;
  /** Of those, how many replaced an existing document. */
  updated: number;
  /**
   * Of those, how many were identical to the stored document (content, metadata and embedding):
   * left as they were, with no write and no index work, so re-ingesting an unchanged corpus is cheap.
   */
  unchanged: number;
  /**
   * Documents whose vector the embedder computed in this call. A document given without an
   * embedding whose content is unchanged keeps its stored vector (see `reuseEmbeddings`).
   */
  embedded: number;
}

/** Result of upsertStream(). */
export interface IngestResult extends UpsertResult {
  batches: number;
  elapsedMs: number;
  /** Whether ANALYZE ran after the ingest (see IngestOptions.analyze). */
  analyzed: boolean;
}

/** The scan mode 'auto' stands for when a scan is to iterate. */
function iterativeOrder(mode: IterativeScanMode): Exclude<IterativeScanMode, 'auto'> {
  return mode === 'auto' ? 'relaxed_order' : mode;
}

function addCounts(total: UpsertResult, batch: UpsertResult): void {
  total.upserted += batch.upserted;
  total.inserted += batch.inserted;
  total.updated += batch.updated;
  total.unchanged += batch.unchanged;
  total.embedded += batch.embedded;
}

/** What a collection needs from its Rag. @internal */
export interface CollectionContext {
  storage: RagStorage;
  tenantId: string;
  iterativeScans: boolean;
  /** Oid of the vector type, for binary vector[] parameters. */
  vectorOid: number;
  assertOpen(): void;
  createIndex(options: CreateIndexOptions): Promise<CreateIndexResult>;
  /** The vector indexes on documents, as searches plan with them (cached by the Rag). */
  vectorIndexes(): Promise<readonly VectorIndexInfo[]>;
  /** Whether this collection's unfiltered scans currently iterate from the start ('auto' mode). */
  unfilteredScanIterates(): boolean;
  /** An unfiltered scan without iterating returned fewer than k rows. */
  unfilteredScanCameUpShort(): void;
}

/** A prepared document: validated and embedded, ready for unnest. */
interface PreparedDocument {
  id: string;
  content: string;
  metadata: string;
  embedding: number[];
  /** Embedder.id when an embedder computed `embedding`; null when the caller gave it. */
  embeddedBy: string | null;
  /** Whether the embedder computed `embedding` in this call (not reused from the stored row). */
  embeddedNow: boolean;
}

const DeleteInputSchema = z.union([
  z.array(DocumentIdSchema).max(100_000),
  z.object({ where: z.custom<MetadataFilter>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a filter object') }).strict(),
]);
const IdsSchema = z.array(DocumentIdSchema).max(100_000);
const CountOptionsSchema = z
  .object({ where: z.custom<MetadataFilter>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a filter object').optional() })
  .strict();

/**
 * A row's text index: to_tsvector in the collection's language (`language`, a regconfig
 * placeholder), or NULL when the content is longer than FULL_TEXT_MAX_BYTES. Such content reaches
 * the database only from collections with longDocuments: 'skip-text-index' (the others refuse it
 * first); the same test in SQL keeps refreshTextIndex from failing on it. octet_length is the
 * UTF-8 length that fitsFullTextIndex measures, and the bound is core's constant, not input.
 */
function textIndexSql(content: string, language: string): string {
  return `CASE WHEN octet_length(${content}) <= ${FULL_TEXT_MAX_BYTES} THEN to_tsvector(${language}::regconfig, ${content}) END`;
}

/** The refusal of content too long for the text index (longDocuments: 'refuse'), naming the document and the ways out. */
function tooLongForTextIndex(what: string, at: string, id: string, content: string): ValidationError {
  const bytes = utf8ByteLength(content);
  const shown = JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id);
  return new ValidationError(
    what,
    [
      {
        path: `${at}.content`,
        message:
          `document ${shown} has ${bytes} bytes of UTF-8 text, more than the full-text index takes (FULL_TEXT_MAX_BYTES, ${FULL_TEXT_MAX_BYTES}): ` +
          "split it into chunks (chunkDocument(), one document per chunk), or open the collection with longDocuments: 'skip-text-index' " +
          'to store it without a text index',
      },
    ],
    { details: { id, bytes, maxBytes: FULL_TEXT_MAX_BYTES } },
  );
}

/** Why a search text cannot be searched for, as a ValidationError (core's text rule; `fullText` when it becomes a tsquery). */
function checkSearchText(text: string, fullText: boolean): void {
  const issue = fullText ? fullTextIssue(text) : textIssue(text);
  if (issue !== undefined) throw new ValidationError('search text', [{ path: '', message: issue }]);
}

const UPSERT_SQL =
  `WITH written AS (` +
  `INSERT INTO documents AS d (tenant_id, collection, id, content, metadata, embedding, embedded_by, tsv) ` +
  `SELECT $1, $2, u.id, u.content, u.metadata::jsonb, u.embedding, u.embedded_by, ${textIndexSql('u.content', '$3')} ` +
  // $7 is a binary vector[] (encodeVectorArray): no decimal formatting or parsing of floats.
  `FROM unnest($4::text[], $5::text[], $6::text[], $7::vector[], $8::text[]) AS u(id, content, metadata, embedding, embedded_by) ` +
  `ON CONFLICT (tenant_id, collection, id) DO UPDATE SET content = EXCLUDED.content, metadata = EXCLUDED.metadata, ` +
  `embedding = EXCLUDED.embedding, embedded_by = EXCLUDED.embedded_by, tsv = EXCLUDED.tsv, updated_at = now() ` +
  // An identical document is not rewritten: a rewrite would add a new row version and, with the
  // heap page full, a new entry in every index, the HNSW graph insert being most of an ingest's cost.
  `WHERE (d.content, d.metadata, d.embedding, d.embedded_by, d.tsv) IS DISTINCT FROM ` +
  `(EXCLUDED.content, EXCLUDED.metadata, EXCLUDED.embedding, EXCLUDED.embedded_by, EXCLUDED.tsv) ` +
  // xmax = 0 on a row this statement inserted; an updated row carries the updating transaction's id.
  `RETURNING (xmax = 0) AS inserted) ` +
  `SELECT count(*)::int AS written, (count(*) FILTER (WHERE inserted))::int AS inserted FROM written`;

/** Stored vectors that still fit: same id and content, computed by the same embedder ($5). */
const REUSABLE_EMBEDDINGS_SQL =
  `SELECT u.ord::int AS ord, d.embedding::text AS embedding ` +
  `FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u(id, content, ord) ` +
  `JOIN documents d ON d.tenant_id = $1 AND d.collection = $2 AND d.id = u.id ` +
  `AND d.content = u.content AND d.embedded_by = $5 AND d.embedding IS NOT NULL`;

/**
 * A `documents` row as get and list return it, `metadata` typed as the collection's. `embedding` is a
 * pgvector column (Unsupported in the schema, so absent from the generated types), read as
 * `embedding::text` when asked for.
 */
type DocumentRow<M extends Metadata> = Row<'documents', 'id' | 'content' | 'metadata' | 'created_at' | 'updated_at', { metadata: M }> & { embedding?: string };

/** A search hit's row: the document's columns with what the search computed. */
type HitRow<M extends Metadata, Computed> = Row<'documents', 'id' | 'content' | 'metadata', { metadata: M }> & Computed & { embedding?: string };

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
  readonly #options: ResolvedCollectionOptions;
  /** Statements on the pool, each retried after transient failures (RagStorage.query). */
  readonly #onPool: Statements = (operation, text, values) => this.#ctx.storage.query(operation, text, values);

  /** @internal use rag.collection(). */
  constructor(ctx: CollectionContext, name: string, options: ResolvedCollectionOptions & { dimensions: number }, embedder: Embedder | undefined) {
    this.#ctx = ctx;
    this.#options = options;
    this.name = name;
    this.tenantId = ctx.tenantId;
    this.dimensions = options.dimensions;
    this.metric = options.metric;
    this.language = options.language;
    this.embedder = embedder;
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
    const rows = await this.#prepare(docs, 'documents', opts);
    if (rows.length === 0) return { upserted: 0, inserted: 0, updated: 0, unchanged: 0, embedded: 0 };
    const batches: PreparedDocument[][] = [];
    for (let i = 0; i < rows.length; i += this.#options.batchSize) batches.push(rows.slice(i, i + this.#options.batchSize));
    if (batches.length === 1) return this.#writeBatch(this.#onPool, batches[0]!);
    // Replayed after any transient failure, a lost COMMIT included: the same rows again. The counts
    // then describe the last run (what a lost but committed first run wrote counts as unchanged).
    return this.#ctx.storage.transaction(
      'upsert',
      async (client) => {
        const total: UpsertResult = { upserted: 0, inserted: 0, updated: 0, unchanged: 0, embedded: 0 };
        for (const batch of batches) addCounts(total, await this.#writeBatch(onClient(client), batch));
        return total;
      },
      'replay',
    );
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
    const started = performance.now();
    const total = opts.rebuildIndexes ? await this.#bulkLoad(source, opts) : await this.#stream(source, opts, (rows) => this.#writeBatch(this.#onPool, rows));
    if (opts.analyze && total.inserted >= 1000) {
      // Best effort: the rows are committed either way; without the privilege the planner waits
      // for autovacuum's ANALYZE instead, and `analyzed` says so.
      total.analyzed = await this.#ctx.storage.query('ANALYZE', 'ANALYZE documents').then(
        () => true,
        () => false,
      );
    }
    total.elapsedMs = performance.now() - started;
    return total;
  }

  /**
   * The batching loop of upsertStream: validates and embeds up to `concurrency` batches at once
   * and hands each to `write`. Throws IngestError with the count `write` completed.
   */
  async #stream(
    source: AsyncIterable<DocumentInput<M>> | Iterable<DocumentInput<M>>,
    opts: z.output<typeof IngestOptionsSchema>,
    write: (rows: PreparedDocument[]) => Promise<UpsertResult>,
    statements: Statements = this.#onPool,
  ): Promise<IngestResult> {
    const batchSize = opts.batchSize ?? this.#options.batchSize;
    const started = performance.now();
    const total: IngestResult = { upserted: 0, inserted: 0, updated: 0, unchanged: 0, embedded: 0, batches: 0, elapsedMs: 0, analyzed: false };
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    let offset = 0;

    const launch = (batch: unknown[], first: number) => {
      const task = (async () => {
        const docs = parseInput(z.array(DocumentInputSchema), batch, `documents ${first}..${first + batch.length - 1}`);
        const rows = await this.#prepare(docs, `documents[${first}..]`, opts, statements);
        addCounts(total, await write(rows));
        total.batches += 1;
        if (opts.onProgress) {
          const elapsedMs = performance.now() - started;
          const progress: IngestProgress = {
            upserted: total.upserted,
            batches: total.batches,
            elapsedMs,
            docsPerSecond: elapsedMs > 0 ? (total.upserted * 1000) / elapsedMs : 0,
          };
          opts.onProgress(progress);
        }
      })().catch((error: unknown) => {
        failure ??= { error };
      });
      const tracked = task.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    };

    let batch: unknown[] = [];
    for await (const doc of source as AsyncIterable<unknown>) {
      if (failure) break;
      if (opts.signal?.aborted) {
        failure ??= { error: opts.signal.reason ?? new Error('aborted') };
        break;
      }
      batch.push(doc);
      if (batch.length === batchSize) {
        launch(batch, offset);
        offset += batch.length;
        batch = [];
        // Backpressure: never more than `concurrency` batches embedding or writing.
        while (inFlight.size >= opts.concurrency && !failure) await Promise.race(inFlight);
      }
    }
    if (!failure && batch.length > 0) launch(batch, offset);
    await Promise.all(inFlight);
    if (failure) {
      // Input errors keep their type (ValidationError, EmptyTextError, …) as the cause.
      throw new IngestError(total.upserted, { cause: failure.error });
    }
    return total;
  }

  /**
   * upsertStream with rebuildIndexes: one transaction, vector indexes dropped and re-created around
   * the load. Retried only until the load starts reading the source (it cannot be read twice); a
   * failure after that rolls everything back and throws IngestError(0) at once.
   */
  async #bulkLoad(source: AsyncIterable<DocumentInput<M>> | Iterable<DocumentInput<M>>, opts: z.output<typeof IngestOptionsSchema>): Promise<IngestResult> {
    try {
      return await this.#ctx.storage.transaction('bulk load', async (client) => {
        // A pool-wide statement timeout is meant for queries, not for a load and an index build;
        // a slow source (an embedding API) must not end the transaction either.
        await client.query(`SET LOCAL statement_timeout = 0`);
        await client.query(`SET LOCAL idle_in_transaction_session_timeout = 0`);
        const definitions = await dropVectorIndexesForLoad(client);
        // Batches are embedded concurrently but written in order: a repeated id's last version wins.
        let written: Promise<unknown> = Promise.resolve();
        const statements = onClient(client);
        const total = await this.#stream(
          source,
          opts,
          (rows) => {
            const next = written.then(() => this.#writeBatch(statements, rows));
            written = next.catch(() => undefined);
            return next;
          },
          // The dropped indexes lock documents until the commit: reads go through this transaction.
          statements,
        ).catch((error: unknown) => {
          // The loop's own count means nothing once this rolls back; the transaction maps the cause.
          throw error instanceof IngestError ? error.cause : error;
        });
        await applyBuildSettings(client, opts, true);
        await recreateVectorIndexes(client, definitions);
        return total;
      }, 'until-started');
    } catch (error) {
      // Rolled back: the count is 0 whatever the loop had written.
      throw new IngestError(0, { cause: error });
    }
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
    const byId = new Map<string, (typeof list)[number]>();
    for (const u of list) byId.set(u.id, { ...byId.get(u.id), ...u });
    const merged = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    merged.forEach((u, i) => {
      if (u.content === undefined) return;
      if (u.content.trim() === '') throw new EmptyTextError(`updates[${i}].content is empty.`);
      if (this.#options.longDocuments === 'refuse' && !fitsFullTextIndex(u.content)) throw tooLongForTextIndex('updates', `updates[${i}]`, u.id, u.content);
    });
    const vectors: (number[] | null)[] = merged.map((u, i) =>
      u.embedding === undefined ? null : checkVector(u.embedding, this.dimensions, this.metric, `updates[${i}].embedding`),
    );
    const toEmbed = merged.map((u, i) => ({ u, i })).filter(({ u, i }) => u.content !== undefined && vectors[i] === null);
    const embeddedBy: (string | null)[] = merged.map(() => null);
    if (toEmbed.length > 0) {
      const embedder = this.#requireEmbedder('update content without an embedding (the stored vector would no longer match the text)');
      for (const { i } of toEmbed) embeddedBy[i] = embedder.id;
      const embedded = await embedder.embedDocuments(
        toEmbed.map(({ u }) => u.content!),
        { signal },
      );
      assertEmbeddings(embedded, toEmbed.length, this.dimensions, `Embedder ${embedder.id}`);
      toEmbed.forEach(({ i }, j) => {
        vectors[i] = checkVector(embedded[j], this.dimensions, this.metric, `embedding of updates[${i}].content`);
      });
    }
    const sql =
      `UPDATE documents AS d SET content = COALESCE(u.content, d.content), ` +
      `metadata = CASE WHEN u.metadata IS NULL THEN d.metadata WHEN $4 THEN d.metadata || u.metadata::jsonb ELSE u.metadata::jsonb END, ` +
      `embedding = COALESCE(u.embedding, d.embedding), ` +
      `embedded_by = CASE WHEN u.embedding IS NULL THEN d.embedded_by ELSE u.embedded_by END, ` +
      `tsv = CASE WHEN u.content IS NULL THEN d.tsv ELSE ${textIndexSql('u.content', '$3')} END, updated_at = now() ` +
      `FROM unnest($5::text[], $6::text[], $7::text[], $8::vector[], $9::text[]) AS u(id, content, metadata, embedding, embedded_by) ` +
      `WHERE d.tenant_id = $1 AND d.collection = $2 AND d.id = u.id RETURNING d.id`;
    const values = [
      this.tenantId,
      this.name,
      this.language,
      opts.mergeMetadata,
      merged.map((u) => u.id),
      merged.map((u) => u.content ?? null),
      merged.map((u) => (u.metadata === undefined ? null : JSON.stringify(u.metadata))),
      encodeVectorArray(vectors, this.#ctx.vectorOid),
      embeddedBy,
    ];
    // Replayed like an upsert: the vectors are computed, and setting the same values (or merging
    // the same keys) twice gives the same rows.
    return this.#ctx.storage.transaction(
      'update',
      async (client) => {
        const { rows } = await client.query<Row<'documents', 'id'>>(sql, values);
        if (rows.length !== merged.length) {
          const found = new Set(rows.map((r) => r.id));
          throw new DocumentNotFoundError(
            this.name,
            merged.filter((u) => !found.has(u.id)).map((u) => u.id),
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
      const r = await this.#ctx.storage.query('delete', `DELETE FROM documents WHERE tenant_id = $1 AND collection = $2 AND id = ANY($3::text[])`, [
        this.tenantId,
        this.name,
        input,
      ]);
      return r.rowCount ?? 0;
    }
    const where = input.where;
    if (isEmptyFilter(where)) {
      throw new InvalidFilterError([{ path: 'where', message: 'is empty; to delete every document of the collection, call clear()' }]);
    }
    const ctx = queryContext({ tenantId: this.tenantId, collection: this.name, where });
    const r = await this.#ctx.storage.query(
      'delete',
      `DELETE FROM documents d WHERE d.tenant_id = ${ctx.tenant} AND d.collection = ${ctx.collection} AND ${ctx.filter}`,
      ctx.params.values,
    );
    return r.rowCount ?? 0;
  }

  /** Deletes every document of the collection (this tenant's). Returns how many. */
  async clear(): Promise<number> {
    this.#ctx.assertOpen();
    const r = await this.#ctx.storage.query('clear', `DELETE FROM documents WHERE tenant_id = $1 AND collection = $2`, [this.tenantId, this.name]);
    return r.rowCount ?? 0;
  }

  /**
   * Recomputes the full-text vectors (`tsv`) of every document with the collection's language,
   * after changing the language. Documents longer than FULL_TEXT_MAX_BYTES are left without one
   * (see CollectionOptions.longDocuments). Returns how many rows it rewrote.
   */
  async refreshTextIndex(): Promise<number> {
    this.#ctx.assertOpen();
    const r = await this.#ctx.storage.query('refreshTextIndex', `UPDATE documents SET tsv = ${textIndexSql('content', '$3')} WHERE tenant_id = $1 AND collection = $2`, [
      this.tenantId,
      this.name,
      this.language,
    ]);
    return r.rowCount ?? 0;
  }

  // ---------------------------------------------------------------- reads

  /** The documents with these ids, in the order asked, skipping ids that do not exist. */
  async get(ids: readonly string[], options: GetOptions = {}): Promise<StoredDocument<M>[]> {
    this.#ctx.assertOpen();
    const list = parseInput(IdsSchema, ids, 'ids');
    const opts = parseInput(GetOptionsSchema, options, 'get options');
    if (list.length === 0) return [];
    const { rows } = await this.#ctx.storage.query<DocumentRow<M>>(
      'get',
      `SELECT id, content, metadata, created_at, updated_at${opts.includeEmbedding ? ', embedding::text AS embedding' : ''} ` +
        `FROM documents WHERE tenant_id = $1 AND collection = $2 AND id = ANY($3::text[])`,
      [this.tenantId, this.name, list],
    );
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
    const ctx = queryContext({ tenantId: this.tenantId, collection: this.name, where: opts.where });
    const after = opts.after === undefined ? '' : ` AND d.id > ${ctx.params.add(opts.after)}`;
    const { rows } = await this.#ctx.storage.query<DocumentRow<M>>(
      'list',
      `SELECT d.id, d.content, d.metadata, d.created_at, d.updated_at${opts.includeEmbedding ? ', d.embedding::text AS embedding' : ''} ` +
        `FROM documents d WHERE d.tenant_id = ${ctx.tenant} AND d.collection = ${ctx.collection} AND ${ctx.filter}${after} ` +
        `ORDER BY d.id LIMIT ${ctx.params.add(opts.limit, 'int')}`,
      ctx.params.values,
    );
    return rows.map(toStored);
  }

  /** Number of documents, optionally matching a filter. */
  async count(options: { where?: MetadataFilter } = {}): Promise<number> {
    this.#ctx.assertOpen();
    const opts = parseInput(CountOptionsSchema, options, 'count options');
    const ctx = queryContext({ tenantId: this.tenantId, collection: this.name, where: opts.where });
    const { rows } = await this.#ctx.storage.query<{ n: string }>(
      'count',
      `SELECT count(*) AS n FROM documents d WHERE d.tenant_id = ${ctx.tenant} AND d.collection = ${ctx.collection} AND ${ctx.filter}`,
      ctx.params.values,
    );
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
    const plan = await this.#vectorPlan(vector, options);
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
    const { first } = await this.#vectorPlan(vector, rest);
    // Retried like any read: EXPLAIN ANALYZE runs the search, which changes nothing.
    const { rows } = await this.#ctx.storage.query<{ 'QUERY PLAN': string }>('explainSearch', `EXPLAIN ${analyze ? '(ANALYZE, BUFFERS) ' : ''}${first.text}`, first.values);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  }

  async #vectorPlan(vector: VectorInput, options: SearchOptions) {
    const opts = parseInput(SearchOptionsSchema, options, 'search options');
    const query = checkVector(vector, this.dimensions, this.metric, 'query vector');
    const maxDistance = this.#maxDistance(opts.minScore, opts.maxDistance);
    const literal = encodeVector(query);
    const halfvec = opts.exact ? undefined : await this.#halfvecDimensions();
    const mode = opts.iterativeScan ?? this.#options.iterativeScan;
    // 'auto': see CollectionOptions.iterativeScan. The first scan of an unfiltered query does not
    // iterate unless a recent one came up short; `iterating` is the repeat when this one does.
    const efSearch = opts.efSearch ?? this.#options.efSearch;
    // Twice k from the half-precision index, re-ranked exactly: the k nearest by exact distance
    // are almost always among them (see the README's recall figures).
    const candidates = halfvec === undefined ? opts.k : Math.min(1000, opts.k * 2);
    // A scan that does not iterate returns at most ef_search rows.
    const scanOnce = mode === 'auto' && !opts.exact && candidates <= efSearch && isEmptyFilter(opts.where) && !this.#ctx.unfilteredScanIterates();
    const statement = (exact: boolean, iterativeScan: Exclude<IterativeScanMode, 'auto'>) =>
      vectorSearchSql({
        tenantId: this.tenantId,
        collection: this.name,
        metric: this.metric,
        vector: literal,
        where: opts.where,
        limit: opts.k,
        efSearch,
        probes: opts.probes ?? this.#options.probes,
        iterativeScan,
        maxScanTuples: opts.maxScanTuples ?? this.#options.maxScanTuples,
        exactFilterLimit: opts.exactFilterLimit ?? this.#options.exactFilterLimit,
        exact,
        exactFallback: false,
        iterativeScans: this.#ctx.iterativeScans,
        halfvec: halfvec === undefined ? undefined : { dimensions: halfvec, candidates },
        carry: [],
        includeEmbedding: opts.includeEmbedding,
      });
    const iterative = iterativeOrder(mode);
    return {
      k: opts.k,
      maxDistance,
      first: statement(opts.exact, scanOnce ? 'off' : iterative),
      iterating: scanOnce ? () => statement(false, iterative) : undefined,
      fallback: !opts.exact && opts.exactFallback ? () => statement(true, iterative) : undefined,
    };
  }

  /**
   * The dimension of the half-precision cast to order by when the index serving this collection's
   * metric is on `embedding::halfvec(N)` (the planner matches an index by its expression), or
   * undefined to order by the vectors. A partial index for this collection comes first, as for the
   * planner; at equal scope a full-precision one, since it was built on purpose (half is the
   * default). When the indexes changed elsewhere since the Rag read them, a wrong guess makes the
   * search an exact scan, slower but still correct, until the Rag reads them again.
   */
  async #halfvecDimensions(): Promise<number | undefined> {
    const indexes = await this.#ctx.vectorIndexes();
    let chosen: VectorIndexInfo | undefined;
    let rank = -1;
    for (const index of indexes) {
      if (!index.valid || index.metric !== this.metric) continue;
      const ownPartial = index.partial !== null && index.partial.tenantId === this.tenantId && index.partial.collection === this.name;
      if (index.partial !== null && !ownPartial) continue;
      const r = (ownPartial ? 2 : 0) + (index.precision === 'full' ? 1 : 0);
      if (r > rank) [chosen, rank] = [index, r];
    }
    return chosen?.precision === 'half' ? this.dimensions : undefined;
  }

  /** Embeds `text` with the collection's embedder, then searchByVector(). */
  async search(text: string, options: SearchOptions & EmbedOptions = {}): Promise<SearchResult<M>[]> {
    this.#ctx.assertOpen();
    const { signal, ...rest } = options;
    const vector = await this.#embedQuery(text, signal);
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
    if (typeof text !== 'string' || text.trim() === '') throw new EmptyTextError('The search text is empty.');
    checkSearchText(text, opts.weights.text > 0);
    if (opts.maxDistance !== undefined) {
      throw new InvalidFilterError([{ path: 'maxDistance', message: 'does not apply to hybrid search; use minScore on the fused score' }]);
    }
    let vector: number[] | undefined;
    if (opts.weights.vector > 0) {
      vector = opts.vector !== undefined ? checkVector(opts.vector, this.dimensions, this.metric, 'query vector') : await this.#embedQuery(text, signal);
    }
    const halfvec = opts.exact || vector === undefined ? undefined : await this.#halfvecDimensions();
    const { text: sql, values } = hybridSearchSql({
      tenantId: this.tenantId,
      collection: this.name,
      metric: this.metric,
      vector: vector === undefined ? undefined : encodeVector(vector),
      text,
      language: this.language,
      where: opts.where,
      k: opts.k,
      limit: opts.candidates ?? Math.min(1000, Math.max(opts.k * 4, 40)),
      efSearch: opts.efSearch ?? this.#options.efSearch,
      probes: opts.probes ?? this.#options.probes,
      // 'auto' scans hybrid candidates iteratively: the statement's exact branch, not a repeat, answers a short scan.
      iterativeScan: iterativeOrder(opts.iterativeScan ?? this.#options.iterativeScan),
      maxScanTuples: opts.maxScanTuples ?? this.#options.maxScanTuples,
      exact: opts.exact,
      exactFallback: opts.exactFallback,
      iterativeScans: this.#ctx.iterativeScans,
      // The candidates are ranked by their exact distance; no extra ones are needed for that.
      halfvec: halfvec === undefined ? undefined : { dimensions: halfvec, candidates: 0 },
      weights: opts.weights,
      rrfK: opts.rrfK,
      minScore: opts.minScore,
      includeEmbedding: opts.includeEmbedding,
    });
    const { rows } = await this.#ctx.storage.query<
      HitRow<M, { score: number; vector_rank: string | null; text_rank: string | null; distance: number | null }>
    >('hybridSearch', sql, values);
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
  createIndex(options: Omit<CreateIndexOptions, 'collection' | 'metric'> = {}): Promise<CreateIndexResult> {
    this.#ctx.assertOpen();
    return this.#ctx.createIndex({ ...options, metric: this.metric, collection: this.name });
  }

  // ---------------------------------------------------------------- internals

  #maxDistance(minScore: number | undefined, maxDistance: number | undefined): number | undefined {
    if (this.metric === 'l2') {
      if (minScore !== undefined) {
        throw new InvalidFilterError([{ path: 'minScore', message: 'l2 scores are distances (lower is closer): use maxDistance' }]);
      }
      return maxDistance;
    }
    if (maxDistance !== undefined) {
      throw new InvalidFilterError([{ path: 'maxDistance', message: `${this.metric} scores are similarities (higher is closer): use minScore` }]);
    }
    return minScore === undefined ? undefined : distanceForMinScore(this.metric, minScore);
  }

  #requireEmbedder(why: string): Embedder {
    if (!this.embedder) {
      throw new EmbedderRequiredError(`Collection "${this.name}" has no embedder, which is needed to ${why}. Pass one to createRag() or rag.collection().`);
    }
    return this.embedder;
  }

  async #embedQuery(text: string, signal: AbortSignal | undefined): Promise<number[]> {
    if (typeof text !== 'string' || text.trim() === '') throw new EmptyTextError('The search text is empty.');
    checkSearchText(text, false);
    const embedder = this.#requireEmbedder('search by text');
    const vector = await embedder.embedQuery(text, { signal });
    return checkVector(vector, this.dimensions, this.metric, `embedding of the query by ${embedder.id}`);
  }

  /**
   * Validated documents → rows: empty texts refused, vectors checked, missing embeddings computed,
   * repeated ids collapsed (the last wins; one statement cannot write a row twice), sorted by id
   * so that concurrent batches lock rows in the same order and cannot deadlock.
   */
  async #prepare(
    docs: z.output<typeof DocumentInputSchema>[],
    what: string,
    options: { signal?: AbortSignal | undefined; reuseEmbeddings: boolean },
    statements: Statements = this.#onPool,
  ): Promise<PreparedDocument[]> {
    const vectors: (number[] | undefined)[] = docs.map((d, i) => {
      if (d.content.trim() === '') throw new EmptyTextError(`${what}[${i}].content is empty.`, { details: { id: d.id } });
      if (this.#options.longDocuments === 'refuse' && !fitsFullTextIndex(d.content)) throw tooLongForTextIndex('documents', `${what}[${i}]`, d.id, d.content);
      return d.embedding === undefined ? undefined : checkVector(d.embedding, this.dimensions, this.metric, `${what}[${i}].embedding`);
    });
    // Documents given without an embedding carry the embedder's id, whether their vector is
    // computed now (embeddedNow) or reused from the stored row.
    let embedderId: string | null = null;
    const embeddedNow = new Set<number>();
    let missing = vectors.flatMap((v, i) => (v === undefined ? [i] : []));
    if (missing.length > 0) {
      const embedder = this.#requireEmbedder(`embed ${missing.length} document(s) given without an embedding`);
      embedderId = embedder.id;
      if (options.reuseEmbeddings) {
        const { rows: stored } = await statements<{ ord: number; embedding: string }>('reading stored embeddings', REUSABLE_EMBEDDINGS_SQL, [
          this.tenantId,
          this.name,
          missing.map((i) => docs[i]!.id),
          missing.map((i) => docs[i]!.content),
          embedder.id,
        ]);
        for (const { ord, embedding } of stored) vectors[missing[ord - 1]!] = parseVector(embedding);
        missing = missing.filter((i) => vectors[i] === undefined);
      }
      if (missing.length > 0) {
        const embedded = await embedder.embedDocuments(
          missing.map((i) => docs[i]!.content),
          { signal: options.signal },
        );
        assertEmbeddings(embedded, missing.length, this.dimensions, `Embedder ${embedder.id}`);
        missing.forEach((docIndex, j) => {
          vectors[docIndex] = checkVector(embedded[j], this.dimensions, this.metric, `embedding of ${what}[${docIndex}]`);
          embeddedNow.add(docIndex);
        });
      }
    }
    const byId = new Map<string, PreparedDocument>();
    docs.forEach((d, i) => {
      byId.set(d.id, {
        id: d.id,
        content: d.content,
        metadata: JSON.stringify(d.metadata),
        embedding: vectors[i]!,
        embeddedBy: d.embedding === undefined ? embedderId : null,
        embeddedNow: embeddedNow.has(i),
      });
    });
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Writes one batch (one statement): on the pool it is retried, which rewrites the same rows. */
  async #writeBatch(statements: Statements, rows: readonly PreparedDocument[]): Promise<UpsertResult> {
    const { rows: out } = await statements<{ written: number; inserted: number }>('upsert', UPSERT_SQL, [
      this.tenantId,
      this.name,
      this.language,
      rows.map((r) => r.id),
      rows.map((r) => r.content),
      rows.map((r) => r.metadata),
      encodeVectorArray(
        rows.map((r) => r.embedding),
        this.#ctx.vectorOid,
      ),
      rows.map((r) => r.embeddedBy),
    ]);
    const { written, inserted } = out[0]!;
    const embedded = rows.filter((r) => r.embeddedNow).length;
    return { upserted: rows.length, inserted, updated: written - inserted, unchanged: rows.length - written, embedded };
  }
}
