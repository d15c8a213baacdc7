// The demo's document library: a source (pasted text or a file) is chunked, each chunk embedded and
// stored in one RAG collection with the source's id, title and tags as metadata, and the source
// itself is recorded as a typed object (title, tags, chunk count, with versions on re-ingest).
import { z } from 'zod';
import { chunkText, type Cairn, type HybridSearchResult, type MetadataFilter, type PgVectorCollection, type SearchResult } from '@cairn/cairn';
import type { Source } from './model.js';

/** Search modes: vector (embeddings), text (full text), hybrid (both, fused by reciprocal rank). */
export const SEARCH_MODES = ['hybrid', 'vector', 'text'] as const;
/** One search mode. */
export type SearchMode = (typeof SEARCH_MODES)[number];

/** Metadata every chunk carries. */
interface ChunkMetadata extends Record<string, unknown> {
  sourceId: string;
  title: string;
  chunk: number;
  tags: string[];
  filename: string | null;
}

const SourceRecord = z.object({
  title: z.string(),
  filename: z.string().nullable(),
  tags: z.array(z.string()),
  chunks: z.number().int().min(0),
  bytes: z.number().int().min(0),
  ingestedAt: z.string(),
});

/** An ingested source, as listed. */
export interface SourceInfo {
  id: string;
  title: string;
  filename: string | null;
  tags: string[];
  chunks: number;
  bytes: number;
  ingestedAt: string;
  version: number;
}

/** What to ingest. */
export interface IngestInput {
  title: string;
  text: string;
  tags?: string[] | undefined;
  filename?: string | undefined;
  /** Source id; default: a slug of the file name or title. Re-ingesting an id replaces its chunks. */
  id?: string | undefined;
}

/** A search request. */
export interface SearchInput {
  query: string;
  mode: SearchMode;
  k: number;
  where?: { sourceId?: string | undefined; tag?: string | undefined } | undefined;
  minScore?: number | undefined;
}

/** One search result. */
export interface SearchHit {
  id: string;
  sourceId: string;
  title: string;
  chunk: number;
  content: string;
  score: number;
  scoreKind: 'cosine similarity' | 'reciprocal rank fusion';
  metadata: Record<string, z.core.util.JSONType>;
}

/** Characters per chunk and overlap between neighbours (the RAG package's chunker). Small, so the sample documents split. */
const CHUNKING = { size: 700, overlap: 100 } as const;

/** How many chunks a text makes (for the CLI's progress bar, before anything is written). */
export function chunkCount(text: string): number {
  return chunkText(text, CHUNKING).length;
}

/** A title: the first Markdown heading, else the file name without extension, else the first words. */
export function titleFromText(text: string, filename?: string): string {
  const heading = /^#{1,3}\s+(.+?)\s*#*\s*$/m.exec(text)?.[1];
  if (heading) return heading.slice(0, 200);
  if (filename) return filename.replace(/\.[^.]+$/, '').slice(0, 200);
  const words = text.trim().split(/\s+/).slice(0, 8).join(' ');
  return words.length > 0 ? words.slice(0, 200) : 'Untitled';
}

/** A source id from a title or file name: lower-case letters, digits and dashes. */
export function slugify(text: string): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/\.[a-z0-9]{1,8}$/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return slug || 'document';
}

/** Ingest, list, delete and search the demo's documents. */
export class DocumentLibrary {
  readonly #cairn: Cairn;
  readonly #collectionName: string;
  readonly #sources;
  #collection: PgVectorCollection<ChunkMetadata> | undefined;

  constructor(cairn: Cairn, options: { collection?: string | undefined } = {}) {
    this.#cairn = cairn;
    this.#collectionName = options.collection ?? 'demo-docs';
    this.#sources = cairn.objects.collection('DemoSource', SourceRecord);
  }

  /** Opens the collection (checks the table and the embedder's dimensions once). */
  async init(): Promise<void> {
    this.#collection ??= await this.#cairn.rag.collection<ChunkMetadata>(this.#collectionName, { metric: 'cosine', language: 'english' });
  }

  get #docs(): PgVectorCollection<ChunkMetadata> {
    if (!this.#collection) throw new Error('DocumentLibrary.init() was not called');
    return this.#collection;
  }

  /**
   * Chunks, embeds and stores a source; replaces the chunks of an earlier ingest of the same id.
   * `onProgress` gets the number of chunks stored so far.
   */
  async ingest(input: IngestInput, options: { onProgress?: (chunksDone: number) => void } = {}): Promise<SourceInfo> {
    const id = input.id ?? slugify(input.filename ?? input.title);
    const tags = [...new Set((input.tags ?? []).map((t) => t.trim()).filter(Boolean))];
    const chunks = chunkText(input.text, CHUNKING).map((chunk) => chunk.text);
    const filename = input.filename ?? null;
    const docs = chunks.map((content, chunk) => ({
      id: `${id}#${chunk}`,
      content,
      metadata: { sourceId: id, title: input.title, chunk, tags, filename },
    }));
    // Batches of 32 chunks: each commits atomically and reports progress.
    await this.#docs.upsertStream(docs, { batchSize: 32, onProgress: (p) => options.onProgress?.(p.upserted) });
    // A shorter text than last time leaves chunks past the new end: remove them.
    await this.#docs.delete({ where: { sourceId: id, chunk: { $gte: chunks.length } } });
    const record = await this.#sources.upsert(id, () => ({
      title: input.title,
      filename,
      tags,
      chunks: chunks.length,
      bytes: Buffer.byteLength(input.text),
      ingestedAt: new Date().toISOString(),
    }));
    return { id, ...record.data, version: record.version };
  }

  /** Every source, most recently ingested first. */
  async list(): Promise<SourceInfo[]> {
    const sources: SourceInfo[] = [];
    for await (const record of this.#sources.iterate({ orderBy: { field: 'updatedAt', direction: 'desc' } })) {
      sources.push({ id: record.id, ...record.data, version: record.version });
    }
    return sources;
  }

  /** Number of chunks stored. */
  chunkTotal(): Promise<number> {
    return this.#docs.count();
  }

  /** Deletes a source and its chunks; false when there was no such source. */
  async delete(id: string): Promise<boolean> {
    const removedChunks = await this.#docs.delete({ where: { sourceId: id } });
    const removedRecord = await this.#sources.delete(id);
    return removedRecord === true || removedChunks > 0;
  }

  /** Searches the chunks. */
  async search(input: SearchInput): Promise<{ results: SearchHit[]; tookMs: number }> {
    const started = performance.now();
    const where: MetadataFilter = {
      ...(input.where?.sourceId !== undefined ? { sourceId: input.where.sourceId } : {}),
      ...(input.where?.tag !== undefined ? { tags: { $contains: input.where.tag } } : {}),
    };
    const filter = Object.keys(where).length > 0 ? where : undefined;
    let results: SearchHit[];
    if (input.mode === 'vector') {
      const hits = await this.#docs.search(input.query, { k: input.k, where: filter, minScore: input.minScore });
      results = hits.map((hit) => toHit(hit, 'cosine similarity'));
    } else {
      const weights = input.mode === 'text' ? { vector: 0, text: 1 } : { vector: 1, text: 1 };
      const hits = await this.#docs.hybridSearch(input.query, { k: input.k, where: filter, weights });
      results = hits.map((hit) => toHit(hit, 'reciprocal rank fusion'));
    }
    return { results, tookMs: performance.now() - started };
  }

  /**
   * The workflow's retriever: the best chunks for the planner's keywords, as passages. Hybrid, with
   * the full-text side matching ANY keyword (websearch `or`): the search box's default of matching
   * every word would leave the text ranking empty for most questions.
   */
  async retrieve(query: string, k: number): Promise<Source[]> {
    const words = query.match(/[\p{L}\p{N}]+/gu) ?? [];
    if (words.length === 0) return [];
    const vector = await this.#cairn.embedder.embedQuery(query);
    const hits = await this.#docs.hybridSearch(words.join(' or '), { k, vector });
    return hits.map((hit) => ({ id: hit.id, title: hit.metadata.title, score: hit.score, excerpt: hit.content }));
  }
}

function toHit(hit: SearchResult<ChunkMetadata> | HybridSearchResult<ChunkMetadata>, scoreKind: SearchHit['scoreKind']): SearchHit {
  return {
    id: hit.id,
    sourceId: hit.metadata.sourceId,
    title: hit.metadata.title,
    chunk: hit.metadata.chunk,
    content: hit.content,
    score: hit.score,
    scoreKind,
    metadata: hit.metadata as unknown as Record<string, z.core.util.JSONType>,
  };
}
