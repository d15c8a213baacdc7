// The options of CairnStore and CairnMemoryStore, as zod schemas with their defaults; the types are
// inferred from them. Checked once, in the constructor.
import { z } from 'zod';
import { TenantIdSchema, systemClock, type Clock } from '@cairn/core';
import { parseFieldPath } from './field-paths.js';

/** A LangChain `Embeddings` (or anything with the same two methods). */
export interface StoreEmbeddings {
  embedDocuments(texts: string[]): Promise<number[][]>;
  embedQuery(text: string): Promise<number[]>;
}

/** A function that embeds texts, the other form `embed` takes (queries are embedded by it too). */
export type EmbedFunction = (texts: string[]) => Promise<number[][]>;

function isEmbed(value: unknown): value is StoreEmbeddings | EmbedFunction {
  if (typeof value === 'function') return true;
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Partial<StoreEmbeddings>;
  return typeof candidate.embedDocuments === 'function' && typeof candidate.embedQuery === 'function';
}

const FieldPathSchema = z.string().refine((path) => parseFieldPath(path) !== undefined, {
  message: 'is not a field path (`$`, `title`, `meta.title`, `chapters[*].text`, `authors[0]`, `tags[-1]`)',
});

/** The largest dimension a half-precision HNSW index takes; above it searches are exact scans. */
export const MAX_INDEXED_DIMENSIONS = 4000;

export const StoreIndexConfigSchema = z
  .object({
    /** Dimension of the embedder's vectors (1 to 16 000; HNSW-indexed up to 4000, exact above). */
    dims: z.number().int().min(1).max(16_000),
    /** A LangChain Embeddings or a function from texts to vectors. */
    embed: z.custom<StoreEmbeddings | EmbedFunction>(isEmbed, { message: 'must be an Embeddings (embedDocuments, embedQuery) or a function from texts to vectors' }),
    /** Which parts of a value are embedded, each into a vector of its own. @defaultValue ['$'] (the whole value) */
    fields: z.array(FieldPathSchema).min(1).max(64).default(['$']),
    /** HNSW build parameter m (links per node). @defaultValue 16 */
    m: z.number().int().min(2).max(100).default(16),
    /** HNSW build parameter ef_construction; at least 2·m. @defaultValue 64 */
    efConstruction: z.number().int().min(4).max(1000).default(64),
    /**
     * Vector rows read from the index per result wanted (its candidates are re-ranked by exact
     * distance, and an item with several fields has several rows). @defaultValue 4
     */
    candidatesPerResult: z.number().int().min(1).max(100).default(4),
    /**
     * HNSW search breadth (pgvector's hnsw.ef_search) for a search's transaction, raised to the
     * candidates a page needs. Higher: better recall, slower. @defaultValue 100
     */
    efSearch: z.number().int().min(1).max(1000).default(100),
    /** Rank by exact distance over every matching vector instead of through the index. @defaultValue false */
    exact: z.boolean().default(false),
  })
  .strict()
  .refine((o) => o.efConstruction >= 2 * o.m, { message: 'efConstruction must be at least 2·m', path: ['efConstruction'] });

export const StoreTtlConfigSchema = z
  .object({
    /** Minutes an item lives after a put that gives no `ttl`; absent: items without a ttl never expire. */
    defaultTtl: z.number().positive().optional(),
    /** Reads (get, search) of an item with a ttl move its expiry to now + its ttl. @defaultValue true */
    refreshOnRead: z.boolean().default(true),
    /** Minutes between background sweeps of expired items; absent: no timer (sweep() still works). */
    sweepIntervalMinutes: z.number().positive().optional(),
    /** Items deleted per statement by a sweep. @defaultValue 1000 */
    sweepBatchSize: z.number().int().min(1).max(100_000).default(1000),
  })
  .strict();

const ClockSchema = z.custom<Clock>((value) => value !== null && typeof value === 'object' && typeof (value as Partial<Clock>).now === 'function', {
  message: 'must have a now() returning milliseconds',
});

export const StoreOptionsSchema = z
  .object({
    /** Every read and write is scoped to this tenant. @defaultValue 'default' */
    tenantId: TenantIdSchema.default('default'),
    /** Semantic search; absent: a `query` is ignored and results are unranked (as LangGraph's InMemoryStore). */
    index: StoreIndexConfigSchema.optional(),
    /** Expiry of items; minutes throughout, as LangGraph's TTL config. */
    ttl: StoreTtlConfigSchema.default({ refreshOnRead: true, sweepBatchSize: 1000 }),
    /** Where timestamps and expiry read the time (core's ManualClock in tests). @defaultValue the system clock */
    clock: ClockSchema.default(systemClock),
    /** Largest `limit` a search or listNamespaces takes. @defaultValue 1000 */
    maxLimit: z.number().int().min(1).max(100_000).default(1000),
  })
  .strict();

/** Options of CairnStore and CairnMemoryStore. */
export type StoreOptions = z.input<typeof StoreOptionsSchema>;
/** The options once checked, defaults applied. */
export type ResolvedStoreOptions = z.output<typeof StoreOptionsSchema>;
/** The semantic-search configuration. */
export type StoreIndexConfig = z.input<typeof StoreIndexConfigSchema>;
/** The TTL configuration. */
export type StoreTtlConfig = z.input<typeof StoreTtlConfigSchema>;
