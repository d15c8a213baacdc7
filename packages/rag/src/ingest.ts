// Documents in: validation, embedding (reusing stored vectors that still fit), batches written
// by one unnest statement each, the streaming loop of upsertStream and its bulk-load variant, and
// the preparation of update()'s changes.
import { z } from 'zod';
import { FULL_TEXT_MAX_BYTES, ValidationError, fitsFullTextIndex, parseInput, utf8ByteLength } from '@cairn/core';
import { onClient, onPool, requireEmbedder, type CollectionScope, type Statements } from './collection-context.js';
import { REUSABLE_EMBEDDINGS_SQL, UPSERT_SQL } from './document-sql.js';
import { assertEmbeddings } from './embedder.js';
import { EmptyTextError, IngestError } from './errors.js';
import { DocumentInputSchema, type DocumentUpdateSchema, type IngestOptionsSchema, type IngestProgress, type UpsertOptionsSchema } from './options.js';
import { applyBuildSettings, dropVectorIndexesForLoad, recreateVectorIndexes } from './vector-index.js';
import { checkVector, encodeVectorArray, parseVector } from './vector.js';

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

/** A source of documents for upsertStream, each validated as DocumentInput when its batch is read. */
export type DocumentSource = AsyncIterable<unknown> | Iterable<unknown>;

type ParsedDocument = z.output<typeof DocumentInputSchema>;
type ParsedIngestOptions = z.output<typeof IngestOptionsSchema>;

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

/** One change of update(), validated and embedded: null keeps the stored value. */
export interface PreparedUpdate {
  id: string;
  content: string | null;
  /** JSON text. */
  metadata: string | null;
  embedding: number[] | null;
  /** Embedder.id when an embedder computed `embedding` in this call. */
  embeddedBy: string | null;
}

function addCounts(total: UpsertResult, batch: UpsertResult): void {
  total.upserted += batch.upserted;
  total.inserted += batch.inserted;
  total.updated += batch.updated;
  total.unchanged += batch.unchanged;
  total.embedded += batch.embedded;
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

/**
 * upsert(): every document validated and embedded before anything is written, then one statement
 * per batch, all batches in one transaction.
 */
export async function upsertDocuments(scope: CollectionScope, docs: ParsedDocument[], opts: z.output<typeof UpsertOptionsSchema>): Promise<UpsertResult> {
  const pool = onPool(scope.ctx.storage);
  const rows = await prepareDocuments(scope, docs, 'documents', opts, pool);
  if (rows.length === 0) return { upserted: 0, inserted: 0, updated: 0, unchanged: 0, embedded: 0 };
  const batchSize = scope.options.batchSize;
  const batches: PreparedDocument[][] = [];
  for (let i = 0; i < rows.length; i += batchSize) batches.push(rows.slice(i, i + batchSize));
  if (batches.length === 1) return writeBatch(scope, pool, batches[0]!);
  // Replayed after any transient failure, a lost COMMIT included: the same rows again. The counts
  // then describe the last run (what a lost but committed first run wrote counts as unchanged).
  return scope.ctx.storage.transaction(
    'upsert',
    async (client) => {
      const total: UpsertResult = { upserted: 0, inserted: 0, updated: 0, unchanged: 0, embedded: 0 };
      for (const batch of batches) addCounts(total, await writeBatch(scope, onClient(client), batch));
      return total;
    },
    'replay',
  );
}

/** upsertStream(): batches as they come, or with rebuildIndexes a bulk load; then ANALYZE when asked. */
export async function ingestStream(scope: CollectionScope, source: DocumentSource, opts: ParsedIngestOptions): Promise<IngestResult> {
  const started = performance.now();
  const pool = onPool(scope.ctx.storage);
  const total = opts.rebuildIndexes ? await bulkLoad(scope, source, opts) : await streamBatches(scope, source, opts, (rows) => writeBatch(scope, pool, rows), pool);
  if (opts.analyze && total.inserted >= 1000) {
    // Best effort: the rows are committed either way; without the privilege the planner waits
    // for autovacuum's ANALYZE instead, and `analyzed` says so.
    total.analyzed = await scope.ctx.storage.query('ANALYZE', 'ANALYZE documents').then(
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
async function streamBatches(
  scope: CollectionScope,
  source: DocumentSource,
  opts: ParsedIngestOptions,
  write: (rows: PreparedDocument[]) => Promise<UpsertResult>,
  statements: Statements,
): Promise<IngestResult> {
  const batchSize = opts.batchSize ?? scope.options.batchSize;
  const started = performance.now();
  const total: IngestResult = { upserted: 0, inserted: 0, updated: 0, unchanged: 0, embedded: 0, batches: 0, elapsedMs: 0, analyzed: false };
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let offset = 0;

  const launch = (batch: unknown[], first: number) => {
    const task = (async () => {
      const docs = parseInput(z.array(DocumentInputSchema), batch, `documents ${first}..${first + batch.length - 1}`);
      const rows = await prepareDocuments(scope, docs, `documents[${first}..]`, opts, statements);
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
async function bulkLoad(scope: CollectionScope, source: DocumentSource, opts: ParsedIngestOptions): Promise<IngestResult> {
  try {
    return await scope.ctx.storage.transaction('bulk load', async (client) => {
      // A pool-wide statement timeout is meant for queries, not for a load and an index build;
      // a slow source (an embedding API) must not end the transaction either.
      await client.query(`SET LOCAL statement_timeout = 0`);
      await client.query(`SET LOCAL idle_in_transaction_session_timeout = 0`);
      const definitions = await dropVectorIndexesForLoad(client, scope.options.dimensions);
      // Batches are embedded concurrently but written in order: a repeated id's last version wins.
      let written: Promise<unknown> = Promise.resolve();
      const statements = onClient(client);
      const total = await streamBatches(
        scope,
        source,
        opts,
        (rows) => {
          const next = written.then(() => writeBatch(scope, statements, rows));
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
 * Validated documents → rows: empty texts refused, vectors checked, missing embeddings computed,
 * repeated ids collapsed (the last wins; one statement cannot write a row twice), sorted by id
 * so that concurrent batches lock rows in the same order and cannot deadlock.
 */
async function prepareDocuments(
  scope: CollectionScope,
  docs: ParsedDocument[],
  what: string,
  options: { signal?: AbortSignal | undefined; reuseEmbeddings: boolean },
  statements: Statements,
): Promise<PreparedDocument[]> {
  const vectors: (number[] | undefined)[] = docs.map((d, i) => {
    if (d.content.trim() === '') throw new EmptyTextError(`${what}[${i}].content is empty.`, { details: { id: d.id } });
    if (scope.options.longDocuments === 'refuse' && !fitsFullTextIndex(d.content)) throw tooLongForTextIndex('documents', `${what}[${i}]`, d.id, d.content);
    return d.embedding === undefined ? undefined : checkVector(d.embedding, scope.options.dimensions, scope.options.metric, `${what}[${i}].embedding`);
  });
  // Documents given without an embedding carry the embedder's id, whether their vector is
  // computed now (embeddedNow) or reused from the stored row.
  let embedderId: string | null = null;
  const embeddedNow = new Set<number>();
  let missing = vectors.flatMap((v, i) => (v === undefined ? [i] : []));
  if (missing.length > 0) {
    const embedder = requireEmbedder(scope, `embed ${missing.length} document(s) given without an embedding`);
    embedderId = embedder.id;
    if (options.reuseEmbeddings) {
      const { rows: stored } = await statements<{ ord: number; embedding: string }>('reading stored embeddings', REUSABLE_EMBEDDINGS_SQL, [
        scope.ctx.tenantId,
        scope.name,
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
      assertEmbeddings(embedded, missing.length, scope.options.dimensions, `Embedder ${embedder.id}`);
      missing.forEach((docIndex, j) => {
        vectors[docIndex] = checkVector(embedded[j], scope.options.dimensions, scope.options.metric, `embedding of ${what}[${docIndex}]`);
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
async function writeBatch(scope: CollectionScope, statements: Statements, rows: readonly PreparedDocument[]): Promise<UpsertResult> {
  const { rows: out } = await statements<{ written: number; inserted: number }>('upsert', UPSERT_SQL, [
    scope.ctx.tenantId,
    scope.name,
    scope.options.language,
    rows.map((r) => r.id),
    rows.map((r) => r.content),
    rows.map((r) => r.metadata),
    encodeVectorArray(
      rows.map((r) => r.embedding),
      scope.ctx.vectorOid,
    ),
    rows.map((r) => r.embeddedBy),
  ]);
  const { written, inserted } = out[0]!;
  const embedded = rows.filter((r) => r.embeddedNow).length;
  return { upserted: rows.length, inserted, updated: written - inserted, unchanged: rows.length - written, embedded };
}

/**
 * Validated updates → changes: repeated ids merged (later fields win), sorted by id (the lock
 * order, as for upserts), empty or too long texts refused, vectors checked, and new content
 * given without an embedding embedded, since the stored vector would no longer match it.
 */
export async function prepareUpdates(scope: CollectionScope, list: z.output<typeof DocumentUpdateSchema>[], signal: AbortSignal | undefined): Promise<PreparedUpdate[]> {
  const byId = new Map<string, (typeof list)[number]>();
  for (const u of list) byId.set(u.id, { ...byId.get(u.id), ...u });
  const merged = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  merged.forEach((u, i) => {
    if (u.content === undefined) return;
    if (u.content.trim() === '') throw new EmptyTextError(`updates[${i}].content is empty.`);
    if (scope.options.longDocuments === 'refuse' && !fitsFullTextIndex(u.content)) throw tooLongForTextIndex('updates', `updates[${i}]`, u.id, u.content);
  });
  const vectors: (number[] | null)[] = merged.map((u, i) =>
    u.embedding === undefined ? null : checkVector(u.embedding, scope.options.dimensions, scope.options.metric, `updates[${i}].embedding`),
  );
  const toEmbed = merged.map((u, i) => ({ u, i })).filter(({ u, i }) => u.content !== undefined && vectors[i] === null);
  const embeddedBy: (string | null)[] = merged.map(() => null);
  if (toEmbed.length > 0) {
    const embedder = requireEmbedder(scope, 'update content without an embedding (the stored vector would no longer match the text)');
    for (const { i } of toEmbed) embeddedBy[i] = embedder.id;
    const embedded = await embedder.embedDocuments(
      toEmbed.map(({ u }) => u.content!),
      { signal },
    );
    assertEmbeddings(embedded, toEmbed.length, scope.options.dimensions, `Embedder ${embedder.id}`);
    toEmbed.forEach(({ i }, j) => {
      vectors[i] = checkVector(embedded[j], scope.options.dimensions, scope.options.metric, `embedding of updates[${i}].content`);
    });
  }
  return merged.map((u, i) => ({
    id: u.id,
    content: u.content ?? null,
    metadata: u.metadata === undefined ? null : JSON.stringify(u.metadata),
    embedding: vectors[i] ?? null,
    embeddedBy: embeddedBy[i] ?? null,
  }));
}
