// Options and inputs of @cairn/rag, validated with zod. Defaults live here, in the schemas, and
// nowhere else; the exported types are the schemas' input types.
import { z } from 'zod';
import { IdSchema, JsonObjectSchema, TenantIdSchema, TextSchema } from '@cairn/core';
import type { Embedder } from './embedder.js';
import type { MetadataFilter } from './filter.js';
import { METRICS, type Metric, type VectorInput } from './vector.js';

/**
 * Collection names: core's tenant-id rule (an ASCII slug of 1-128 characters: letters, digits and
 * `_ . : @ -`, starting with a letter or digit), because they go where tenant ids go: the literals
 * of partial index predicates (which listIndexes reads back) and the hash in an index's name.
 */
export const CollectionNameSchema = TenantIdSchema;

/**
 * `maintenance_work_mem` for an index build, e.g. '512MB'. HNSW builds are much faster when the
 * graph fits in it. @defaultValue the server's setting
 */
export const MaintenanceWorkMemSchema = z
  .string()
  .regex(/^\d{1,7}(kB|MB|GB)$/, "must look like '512MB' (kB, MB or GB)")
  .optional();
/** `max_parallel_maintenance_workers` for an index build. @defaultValue the server's setting */
export const ParallelWorkersSchema = z.number().int().min(0).max(64).optional();

function isEmbedder(value: unknown): value is Embedder {
  const e = value as Partial<Embedder> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.dimensions === 'number' &&
    typeof e.embedDocuments === 'function' &&
    typeof e.embedQuery === 'function'
  );
}
/** An Embedder, checked by shape (any implementation, any copy of this package). */
export const EmbedderSchema = z.custom<Embedder>(isEmbedder, 'must implement Embedder (dimensions, embedDocuments, embedQuery)');
const filterSchema = z.custom<MetadataFilter>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a filter object');

/**
 * How pgvector 0.8 continues an index scan when filters removed too many rows. 'auto' scans
 * iteratively (relaxed order) when the query has a metadata filter; an unfiltered query scans
 * once without iterating and repeats the scan iteratively only when too few of the nearest rows
 * belonged to the collection (see CollectionOptions.iterativeScan).
 */
export const ITERATIVE_SCAN_MODES = ['auto', 'relaxed_order', 'strict_order', 'off'] as const;
/** An iterative scan mode. */
export type IterativeScanMode = (typeof ITERATIVE_SCAN_MODES)[number];

export const RagOptionsSchema = z
  .object({
    /** Tenant whose documents this handle reads and writes (core's tenant-id rule). @defaultValue 'default' */
    tenantId: TenantIdSchema.default('default'),
    /** Embedder for collections that do not name their own. */
    embedder: EmbedderSchema.optional(),
  })
  .strict();
/** Options of createRag(). */
export type RagOptions = z.input<typeof RagOptionsSchema>;

/** Search tuning shared by collection defaults and per-query overrides. */
const tuning = {
  /** HNSW candidate list size (`hnsw.ef_search`): higher is slower and finds more of the true neighbours. */
  efSearch: z.number().int().min(1).max(1000),
  /** IVFFlat lists probed per query (`ivfflat.probes`). */
  probes: z.number().int().min(1).max(32_768),
  /** pgvector 0.8 iterative index scans, so filtered queries still fill k results. */
  iterativeScan: z.enum(ITERATIVE_SCAN_MODES),
  /** Most tuples an iterative HNSW scan visits before giving up (`hnsw.max_scan_tuples`). */
  maxScanTuples: z.number().int().min(1).max(1_000_000_000),
  /**
   * A filtered search whose filter matches at most this many rows of the collection is answered by
   * exact search over those rows (recall 1, and faster than an index scan that must skip the other
   * 99%). Counting stops at this limit, so the check costs little for broad filters. 0 turns it off.
   */
  exactFilterLimit: z.number().int().min(0).max(1_000_000),
};

/** What a collection does with content too long for the full-text index (see CollectionOptions.longDocuments). */
export const LONG_DOCUMENT_MODES = ['refuse', 'skip-text-index'] as const;
/** A long-document mode. */
export type LongDocumentMode = (typeof LONG_DOCUMENT_MODES)[number];

export const CollectionOptionsSchema = z
  .object({
    /**
     * Vector length. A new collection is registered with it; a registered one must have it (a
     * CollectionSettingsConflictError otherwise). Any length pgvector takes (up to 16000); vector
     * indexes hold up to 4000 (half precision) or 2000 (full).
     * @defaultValue the registered one, else the embedder's, else that of the collection's stored vectors
     */
    dimensions: z.number().int().min(1).max(16_000).optional(),
    /** Distance metric; checked against the registry like `dimensions`. @defaultValue the registered one, else 'cosine' */
    metric: z.enum(METRICS).optional(),
    /**
     * PostgreSQL text search configuration for `tsv` and hybrid search (a `pg_ts_config` name such
     * as 'english', 'simple', 'german'); checked against the registry like `dimensions`.
     * @defaultValue the registered one, else 'english'
     */
    language: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a text search configuration name (lower-case letters, digits, _)')
      .optional(),
    /**
     * The vector index opening the collection ensures: a table-wide HNSW index for the collection's
     * dimension and metric (a partial expression index, `WHERE vector_dims(embedding) = N`),
     * created when no valid index serves them yet (idempotent; concurrent opens build it once), with
     * these build parameters. `false`: ensure none (exact search, or indexes you create yourself).
     * Recorded in the registry when the collection is first opened.
     * @defaultValue { precision: 'half', m: 16, efConstruction: 64 }
     */
    vectorIndex: z
      .union([
        z.literal(false),
        z
          .object({
            /** 'half' indexes `embedding::halfvec(N)` (up to 4000 dimensions), 'full' `embedding::vector(N)` (up to 2000). @defaultValue 'half' */
            precision: z.enum(['half', 'full']).default('half'),
            /** @defaultValue 16 */
            m: z.number().int().min(2).max(100).default(16),
            /** @defaultValue 64 */
            efConstruction: z.number().int().min(4).max(1000).default(64),
          })
          .strict(),
      ])
      .default({ precision: 'half', m: 16, efConstruction: 64 }),
    /** Embedder for this collection. @defaultValue the Rag's */
    embedder: EmbedderSchema.optional(),
    /** @defaultValue 100 */
    efSearch: tuning.efSearch.default(100),
    /** @defaultValue 10 */
    probes: tuning.probes.default(10),
    /**
     * 'auto': a filtered query scans iteratively in relaxed order, so it still fills k results. An
     * unfiltered query scans without iterating, because a scan that may continue keeps every
     * candidate it passes over, which costs 10–20% of the scan at ef_search 100–250; its result is
     * the same. Only when too few of the nearest rows belonged to the collection (the table-wide
     * index also holds larger collections) is the scan repeated iteratively, and for a minute this
     * collection's unfiltered queries then scan iteratively from the start.
     * @defaultValue 'auto'
     */
    iterativeScan: tuning.iterativeScan.default('auto'),
    /** @defaultValue 20000 (pgvector's default) */
    maxScanTuples: tuning.maxScanTuples.default(20_000),
    /** @defaultValue 2000 */
    exactFilterLimit: tuning.exactFilterLimit.default(2000),
    /** Documents per INSERT statement when upserting. @defaultValue 500 */
    batchSize: z.number().int().min(1).max(10_000).default(500),
    /**
     * What upsert() and update() do with a document whose content is longer than the full-text
     * index takes (FULL_TEXT_MAX_BYTES from @cairn/core, 256 KiB of UTF-8; past that to_tsvector
     * could fail with a tsvector over 1 MB). 'refuse': a ValidationError naming the document,
     * before anything is written; split such texts with chunkDocument() first (one document per
     * chunk, which also retrieves better). 'skip-text-index': store it without a text index
     * (`tsv` NULL): get, list and vector search find it, full-text search and the text side of
     * hybrid search do not. @defaultValue 'refuse'
     */
    longDocuments: z.enum(LONG_DOCUMENT_MODES).default('refuse'),
  })
  .strict();
/** Options of rag.collection(). */
export type CollectionOptions = z.input<typeof CollectionOptionsSchema>;
export type ResolvedCollectionOptions = z.output<typeof CollectionOptionsSchema>;
/** A collection's options once opened: the registry's dimension, metric and language filled in. */
export type OpenedCollectionOptions = Omit<ResolvedCollectionOptions, 'dimensions' | 'metric' | 'language'> & { dimensions: number; metric: Metric; language: string };

const searchCommon = {
  /** Number of results. @defaultValue 10 */
  k: z.number().int().min(1).max(1000).default(10),
  /** Metadata filter (see MetadataFilter). */
  where: filterSchema.optional(),
  /** Only results whose score is at least this (cosine and inner_product; similarity). */
  minScore: z.number().finite().optional(),
  /** Only results at most this far (l2; the score is a distance). */
  maxDistance: z.number().finite().min(0).optional(),
  /** Overrides the collection's efSearch for this query. */
  efSearch: tuning.efSearch.optional(),
  /** Overrides the collection's probes for this query. */
  probes: tuning.probes.optional(),
  /** Overrides the collection's iterativeScan for this query. */
  iterativeScan: tuning.iterativeScan.optional(),
  /** Overrides the collection's maxScanTuples for this query. */
  maxScanTuples: tuning.maxScanTuples.optional(),
  /** Overrides the collection's exactFilterLimit for this query. */
  exactFilterLimit: tuning.exactFilterLimit.optional(),
  /** Exact search: scan every matching row, no index (100% recall; cost grows with the collection). @defaultValue false */
  exact: z.boolean().default(false),
  /**
   * When the index scan returns fewer than k rows (very selective filters exhaust maxScanTuples),
   * answer from an exact scan in the same statement. @defaultValue true
   */
  exactFallback: z.boolean().default(true),
  /** Return each result's embedding. @defaultValue false */
  includeEmbedding: z.boolean().default(false),
};

export const SearchOptionsSchema = z.object(searchCommon).strict();
/** Options of searchByVector() and search(). */
export type SearchOptions = z.input<typeof SearchOptionsSchema>;
export type ResolvedSearchOptions = z.output<typeof SearchOptionsSchema>;

export const HybridSearchOptionsSchema = z
  .object({
    ...searchCommon,
    /** Query vector; computed from the text with the collection's embedder when absent. */
    vector: z.custom<VectorInput>((v) => Array.isArray(v) || v instanceof Float32Array || v instanceof Float64Array, 'must be an array of numbers').optional(),
    /** Weights of the two rankings in the fusion. @defaultValue { vector: 1, text: 1 } */
    weights: z
      .object({ vector: z.number().finite().min(0).default(1), text: z.number().finite().min(0).default(1) })
      .strict()
      .refine((w) => w.vector > 0 || w.text > 0, 'at least one weight must be positive')
      .default({ vector: 1, text: 1 }),
    /** The k constant of reciprocal rank fusion: score = Σ weight / (rrfK + rank). @defaultValue 60 */
    rrfK: z.number().int().min(1).max(10_000).default(60),
    /** Candidates taken from each ranking before fusing. @defaultValue max(4·k, 40), at most 1000 */
    candidates: z.number().int().min(1).max(1000).optional(),
  })
  .strict();
/** Options of hybridSearch(). */
export type HybridSearchOptions = z.input<typeof HybridSearchOptionsSchema>;
export type ResolvedHybridSearchOptions = z.output<typeof HybridSearchOptionsSchema>;

const vectorSchema = z.custom<VectorInput>(
  (v) => Array.isArray(v) || v instanceof Float32Array || v instanceof Float64Array,
  'must be an array of numbers',
);

/**
 * Document ids: core's id rule (1-512 UTF-8 bytes of well-formed Unicode, no NUL or control
 * characters), so no two ids are one key to PostgreSQL and every key fits a btree row.
 */
export const DocumentIdSchema = IdSchema;

/**
 * Metadata: a JSON object jsonb stores and returns unchanged (core's JSON rule: no NUL, no lone
 * surrogates, at most 256 levels, no own `__proto__`), checked in place and never copied.
 */
const MetadataSchema = JsonObjectSchema;

export const DocumentInputSchema = z
  .object({
    id: DocumentIdSchema,
    /**
     * The text: core's text rule (no NUL, no lone surrogates) and not empty (EmptyTextError). Longer
     * than the full-text index takes (FULL_TEXT_MAX_BYTES): see CollectionOptions.longDocuments.
     */
    content: TextSchema,
    /** JSON metadata for filters. @defaultValue {} */
    metadata: MetadataSchema.default({}),
    /** The vector; computed by the collection's embedder when absent. */
    embedding: vectorSchema.optional(),
  })
  .strict();
/** A document to upsert. */
export type DocumentInput<M extends Metadata = Metadata> = Omit<z.input<typeof DocumentInputSchema>, 'metadata'> & { metadata?: M };

export const DocumentUpdateSchema = z
  .object({
    id: DocumentIdSchema,
    /** New text (re-embedded with the collection's embedder unless `embedding` is given); the rules of DocumentInput.content. */
    content: TextSchema.optional(),
    /** New metadata: replaces it, or is merged into it (top-level keys) with `mergeMetadata`. */
    metadata: MetadataSchema.optional(),
    /** New vector. */
    embedding: vectorSchema.optional(),
  })
  .strict();
/** A partial update of one document. */
export type DocumentUpdate<M extends Metadata = Metadata> = Omit<z.input<typeof DocumentUpdateSchema>, 'metadata'> & { metadata?: M };

export const UpdateOptionsSchema = z
  .object({
    /** Merge the given metadata into the stored one (top-level keys) instead of replacing it. @defaultValue false */
    mergeMetadata: z.boolean().default(false),
  })
  .strict();
/** Options of update(). */
export type UpdateOptions = z.input<typeof UpdateOptionsSchema>;

/**
 * Whether documents given without an embedding reuse the stored vector when their content is
 * unchanged and the stored vector was computed by the same embedder (its `id`), instead of
 * embedding the text again. Pass false to re-embed everything (say, after changing a model's
 * settings without changing the embedder's id). @defaultValue true
 */
const reuseEmbeddingsSchema = z.boolean().default(true);

export const UpsertOptionsSchema = z
  .object({
    reuseEmbeddings: reuseEmbeddingsSchema,
    /** Aborts pending embedding requests. */
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'must be an AbortSignal').optional(),
  })
  .strict();
/** Options of upsert(). */
export type UpsertOptions = z.input<typeof UpsertOptionsSchema>;

export const IngestOptionsSchema = z
  .object({
    reuseEmbeddings: reuseEmbeddingsSchema,
    /** Documents per batch (one atomic INSERT each). @defaultValue the collection's batchSize (500) */
    batchSize: z.number().int().min(1).max(10_000).optional(),
    /**
     * Batches embedded and written at once. Memory holds at most (concurrency + 1) batches.
     * @defaultValue 2
     */
    concurrency: z.number().int().min(1).max(16).default(2),
    /** Called after each committed batch. */
    onProgress: z.custom<(progress: IngestProgress) => void>((v) => typeof v === 'function', 'must be a function').optional(),
    /**
     * Run ANALYZE on documents after an ingest that inserted at least 1000 rows, so the planner
     * sees the new rows (with stale statistics it may skip the vector index). Best effort: the
     * result says whether it ran. @defaultValue true
     */
    analyze: z.boolean().default(true),
    /** Stops the ingest between batches. */
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'must be an AbortSignal').optional(),
    /**
     * Bulk load (pgvector's advice for initial and very large loads: building an HNSW index after
     * the data is many times faster than inserting into it). The whole ingest becomes one
     * transaction that drops the vector indexes of `documents`, writes every batch, re-creates the
     * indexes from their exact definitions and commits: all or nothing, and the indexes are back
     * unchanged whatever happens. While it runs, other sessions' reads and writes of `documents`
     * wait (DROP INDEX locks the table), so use it for loads, not on a live table. Batches are
     * still embedded `concurrency` at a time, but written one after another on the transaction's
     * connection; `onProgress` then counts written, not yet committed, documents.
     * @defaultValue false
     */
    rebuildIndexes: z.boolean().default(false),
    /** With rebuildIndexes: `maintenance_work_mem` for the rebuild. @defaultValue the server's setting */
    maintenanceWorkMem: MaintenanceWorkMemSchema,
    /** With rebuildIndexes: `max_parallel_maintenance_workers` for the rebuild. @defaultValue the server's setting */
    parallelWorkers: ParallelWorkersSchema,
  })
  .strict()
  .refine((o) => o.rebuildIndexes || (o.maintenanceWorkMem === undefined && o.parallelWorkers === undefined), {
    message: 'maintenanceWorkMem and parallelWorkers apply only with rebuildIndexes: true',
  });
/** Options of upsertStream(). */
export type IngestOptions = z.input<typeof IngestOptionsSchema>;

export const ReembedOptionsSchema = z
  .object({
    /** Documents read and written per batch. @defaultValue the source collection's batchSize (500) */
    batchSize: z.number().int().min(1).max(10_000).optional(),
    /** Batches embedded and written at once. @defaultValue 2 */
    concurrency: z.number().int().min(1).max(16).default(2),
    /** Called after each committed batch. */
    onProgress: z.custom<(progress: IngestProgress) => void>((v) => typeof v === 'function', 'must be a function').optional(),
    /** Stops the copy between batches. */
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, 'must be an AbortSignal').optional(),
  })
  .strict();
/** Options of reembedInto(). */
export type ReembedOptions = z.input<typeof ReembedOptionsSchema>;

/** Progress of a streaming ingest. */
export interface IngestProgress {
  /** Documents committed so far. */
  upserted: number;
  /** Batches committed so far. */
  batches: number;
  /** Milliseconds since the ingest started. */
  elapsedMs: number;
  /** upserted / elapsed seconds. */
  docsPerSecond: number;
}

export const GetOptionsSchema = z
  .object({
    /** Return embeddings too. @defaultValue false */
    includeEmbedding: z.boolean().default(false),
  })
  .strict();
/** Options of get(). */
export type GetOptions = z.input<typeof GetOptionsSchema>;

export const ListOptionsSchema = z
  .object({
    where: filterSchema.optional(),
    /** Page size. @defaultValue 100 */
    limit: z.number().int().min(1).max(10_000).default(100),
    /** Return documents whose id sorts after this one (keyset pagination; pass the last id of the previous page). */
    after: DocumentIdSchema.optional(),
    includeEmbedding: z.boolean().default(false),
  })
  .strict();
/** Options of list(). */
export type ListOptions = z.input<typeof ListOptionsSchema>;

/** Metadata stored with a document: a JSON object. */
export type Metadata = Record<string, unknown>;
