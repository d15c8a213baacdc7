// The one interface every embedder implements, plus the checks every implementation shares (the
// LangChain bridges are in langchain-embedder.ts, behind the @cairn/rag/langchain entry).
import { DimensionMismatchError, EmptyTextError, InvalidVectorError } from './errors.js';

/** Per-call options of an embedder. */
export interface EmbedOptions {
  /** Aborts pending requests and backoff waits. */
  signal?: AbortSignal | undefined;
}

/**
 * Turns texts into vectors of a fixed length. Implementations: OpenAICompatibleEmbedder (HTTP),
 * LocalHashEmbedder (lexical, offline), or your own.
 */
export interface Embedder {
  /** Length of every vector this embedder returns. */
  readonly dimensions: number;
  /** A stable name for the model and its settings (for logs and caches), e.g. `openai:text-embedding-3-small@384`. */
  readonly id: string;
  /** Embeds texts for storage, in order. Empty or whitespace-only texts are refused (EmptyTextError). */
  embedDocuments(texts: readonly string[], options?: EmbedOptions): Promise<number[][]>;
  /** Embeds a search query. Some models embed queries differently from documents. */
  embedQuery(text: string, options?: EmbedOptions): Promise<number[]>;
}

/** Throws EmptyTextError naming the first empty or whitespace-only text. */
export function assertTextsNotEmpty(texts: readonly string[], what = 'texts'): void {
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i];
    if (typeof text !== 'string' || text.trim().length === 0) {
      throw new EmptyTextError(`${what}[${i}] is empty; there is nothing to embed.`, { details: { index: i } });
    }
  }
}

/** Checks what an embedder returned: one vector per text, each of `dimensions` finite numbers. */
export function assertEmbeddings(vectors: readonly (readonly number[])[], count: number, dimensions: number, source: string): void {
  if (vectors.length !== count) {
    throw new InvalidVectorError(`${source} returned ${vectors.length} vectors for ${count} texts.`);
  }
  for (let i = 0; i < vectors.length; i++) {
    const v = vectors[i]!;
    if (v.length !== dimensions) {
      throw new DimensionMismatchError(
        dimensions,
        v.length,
        `${source} returned a ${v.length}-dimensional vector; ${dimensions} were expected. Check the model and its \`dimensions\` setting.`,
      );
    }
    for (let j = 0; j < v.length; j++) {
      if (!Number.isFinite(v[j])) throw new InvalidVectorError(`${source} returned ${String(v[j])} at [${i}][${j}].`);
    }
  }
}
