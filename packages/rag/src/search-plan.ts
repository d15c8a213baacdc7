// How a collection's searches are planned: the statement that answers first (an index scan that
// iterates or not, over full- or half-precision vectors, or an exact scan), the statements that
// repeat it when it comes up short, and the hybrid statement's parameters. The SQL is search-sql.ts's.
import type { Row } from '@cairn/db';
import { InvalidFilterError, ValidationError, fullTextIssue, parseInput, textIssue } from '@cairn/core';
import { requireEmbedder, type CollectionScope } from './collection-context.js';
import { EmptyTextError } from './errors.js';
import { isEmptyFilter } from './filter.js';
import { SearchOptionsSchema, type IterativeScanMode, type Metadata, type ResolvedHybridSearchOptions, type SearchOptions } from './options.js';
import { hybridSearchSql, vectorSearchSql } from './search-sql.js';
import { servingIndex } from './vector-index.js';
import { checkVector, distanceForMinScore, encodeVector, type Metric, type VectorInput } from './vector.js';

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

/** A search hit's row: the document's columns with what the search computed. */
export type HitRow<M extends Metadata, Computed> = Row<'documents', 'id' | 'content' | 'metadata', { metadata: M }> & Computed & { embedding?: string };

/** One statement of a plan. */
export interface SearchStatement {
  text: string;
  values: unknown[];
}

/** How searchByVector answers: `first`, then the repeats when it returned fewer than `k` rows. */
export interface VectorSearchPlan {
  k: number;
  /** Rows farther than this are dropped (from minScore or maxDistance). */
  maxDistance: number | undefined;
  first: SearchStatement;
  /** The same scan, iterating: set when `first` is an unfiltered 'auto' scan that does not iterate. */
  iterating: (() => SearchStatement) | undefined;
  /** An exact scan, unless the search was exact already or exactFallback is off. */
  fallback: (() => SearchStatement) | undefined;
}

/** The scan mode 'auto' stands for when a scan is to iterate. */
function iterativeOrder(mode: IterativeScanMode): Exclude<IterativeScanMode, 'auto'> {
  return mode === 'auto' ? 'relaxed_order' : mode;
}

/** Why a search text cannot be searched for, as a ValidationError (core's text rule; `fullText` when it becomes a tsquery). */
function checkSearchText(text: string, fullText: boolean): void {
  const issue = fullText ? fullTextIssue(text) : textIssue(text);
  if (issue !== undefined) throw new ValidationError('search text', [{ path: '', message: issue }]);
}

/** The distance bound for minScore (similarity metrics) or maxDistance (l2), refusing the one that does not fit the metric. */
function maxDistanceFor(metric: Metric, minScore: number | undefined, maxDistance: number | undefined): number | undefined {
  if (metric === 'l2') {
    if (minScore !== undefined) {
      throw new InvalidFilterError([{ path: 'minScore', message: 'l2 scores are distances (lower is closer): use maxDistance' }]);
    }
    return maxDistance;
  }
  if (maxDistance !== undefined) {
    throw new InvalidFilterError([{ path: 'maxDistance', message: `${metric} scores are similarities (higher is closer): use minScore` }]);
  }
  return minScore === undefined ? undefined : distanceForMinScore(metric, minScore);
}

/** The collection's embedding of a search text. */
export async function embedQuery(scope: CollectionScope, text: string, signal: AbortSignal | undefined): Promise<number[]> {
  if (typeof text !== 'string' || text.trim() === '') throw new EmptyTextError('The search text is empty.');
  checkSearchText(text, false);
  const embedder = requireEmbedder(scope, 'search by text');
  const vector = await embedder.embedQuery(text, { signal });
  return checkVector(vector, scope.options.dimensions, scope.options.metric, `embedding of the query by ${embedder.id}`);
}

/** searchByVector's plan (and explainSearch's, whose `first` it explains). */
export async function planVectorSearch(scope: CollectionScope, vector: VectorInput, options: SearchOptions): Promise<VectorSearchPlan> {
  const opts = parseInput(SearchOptionsSchema, options, 'search options');
  const query = checkVector(vector, scope.options.dimensions, scope.options.metric, 'query vector');
  const maxDistance = maxDistanceFor(scope.options.metric, opts.minScore, opts.maxDistance);
  const literal = encodeVector(query);
  const precision = opts.exact ? undefined : await servingPrecision(scope);
  const mode = opts.iterativeScan ?? scope.options.iterativeScan;
  // 'auto': see CollectionOptions.iterativeScan. The first scan of an unfiltered query does not
  // iterate unless a recent one came up short; `iterating` is the repeat when this one does.
  const efSearch = opts.efSearch ?? scope.options.efSearch;
  // Twice k from a half-precision index, re-ranked exactly: the k nearest by exact distance
  // are almost always among them (see the README's recall figures).
  const candidates = precision === 'half' ? Math.min(1000, opts.k * 2) : opts.k;
  // A scan that does not iterate returns at most ef_search rows.
  const scanOnce = mode === 'auto' && !opts.exact && candidates <= efSearch && isEmptyFilter(opts.where) && !scope.ctx.unfilteredScanIterates();
  const statement = (exact: boolean, iterativeScan: Exclude<IterativeScanMode, 'auto'>) =>
    vectorSearchSql({
      tenantId: scope.ctx.tenantId,
      collection: scope.name,
      metric: scope.options.metric,
      vector: literal,
      where: opts.where,
      limit: opts.k,
      efSearch,
      probes: opts.probes ?? scope.options.probes,
      iterativeScan,
      maxScanTuples: opts.maxScanTuples ?? scope.options.maxScanTuples,
      exactFilterLimit: opts.exactFilterLimit ?? scope.options.exactFilterLimit,
      exact,
      exactFallback: false,
      iterativeScans: scope.ctx.iterativeScans,
      dimensions: scope.options.dimensions,
      index: precision === undefined ? undefined : { precision, candidates },
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
 * hybridSearch's one statement: the search text checked, the query vector (`opts.vector`, else
 * the embedding of `text`; none when the vector weight is 0), and the candidate counts.
 */
export async function planHybridSearch(scope: CollectionScope, text: string, opts: ResolvedHybridSearchOptions, signal: AbortSignal | undefined): Promise<SearchStatement> {
  if (typeof text !== 'string' || text.trim() === '') throw new EmptyTextError('The search text is empty.');
  checkSearchText(text, opts.weights.text > 0);
  if (opts.maxDistance !== undefined) {
    throw new InvalidFilterError([{ path: 'maxDistance', message: 'does not apply to hybrid search; use minScore on the fused score' }]);
  }
  let vector: number[] | undefined;
  if (opts.weights.vector > 0) {
    vector = opts.vector !== undefined ? checkVector(opts.vector, scope.options.dimensions, scope.options.metric, 'query vector') : await embedQuery(scope, text, signal);
  }
  const precision = opts.exact || vector === undefined ? undefined : await servingPrecision(scope);
  return hybridSearchSql({
    tenantId: scope.ctx.tenantId,
    collection: scope.name,
    metric: scope.options.metric,
    vector: vector === undefined ? undefined : encodeVector(vector),
    text,
    language: scope.options.language,
    where: opts.where,
    k: opts.k,
    limit: opts.candidates ?? Math.min(1000, Math.max(opts.k * 4, 40)),
    efSearch: opts.efSearch ?? scope.options.efSearch,
    probes: opts.probes ?? scope.options.probes,
    // 'auto' scans hybrid candidates iteratively: the statement's exact branch, not a repeat, answers a short scan.
    iterativeScan: iterativeOrder(opts.iterativeScan ?? scope.options.iterativeScan),
    maxScanTuples: opts.maxScanTuples ?? scope.options.maxScanTuples,
    exact: opts.exact,
    exactFallback: opts.exactFallback,
    iterativeScans: scope.ctx.iterativeScans,
    // The candidates are ranked by their exact distance; no extra ones are needed for that.
    dimensions: scope.options.dimensions,
    index: precision === undefined ? undefined : { precision, candidates: 0 },
    weights: opts.weights,
    rrfK: opts.rrfK,
    minScore: opts.minScore,
    includeEmbedding: opts.includeEmbedding,
  });
}

/**
 * The precision of the index that serves this collection's searches ('half': ordered by
 * `embedding::halfvec(N)`, 'full': by `embedding::vector(N)`, as the planner matches an index by its
 * expression), or undefined when none does (ordered by the vectors: an exact scan). See
 * servingIndex for the choice. When the indexes changed elsewhere since the Rag read them, a
 * wrong guess makes the search an exact scan, slower but still correct, until the Rag reads them again.
 */
async function servingPrecision(scope: CollectionScope): Promise<'half' | 'full' | undefined> {
  const index = servingIndex(await scope.ctx.vectorIndexes(), {
    tenantId: scope.ctx.tenantId,
    collection: scope.name,
    dimensions: scope.options.dimensions,
    metric: scope.options.metric,
  });
  return index?.precision ?? undefined;
}
