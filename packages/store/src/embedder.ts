// Calls the configured embedder and checks what it answers: the right number of vectors, each of
// the configured dimension, finite and not all zero (a zero vector has no cosine similarity).
import { EmbeddingError } from './errors.js';
import type { EmbedFunction, StoreEmbeddings } from './options.js';

/** The embedder of an index config, with its answers checked. */
export class CheckedEmbedder {
  readonly #embed: StoreEmbeddings | EmbedFunction;
  readonly dims: number;

  constructor(embed: StoreEmbeddings | EmbedFunction, dims: number) {
    this.#embed = embed;
    this.dims = dims;
  }

  /** Vectors of `texts`, in order (none asked, none called). */
  async documents(texts: readonly string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const embed = this.#embed;
    const vectors = await this.#call(() => (typeof embed === 'function' ? embed([...texts]) : embed.embedDocuments([...texts])));
    return this.#check(vectors, texts.length);
  }

  /** The vector of a search query. */
  async query(text: string): Promise<number[]> {
    const embed = this.#embed;
    const vectors = await this.#call(async () => (typeof embed === 'function' ? embed([text]) : [await embed.embedQuery(text)]));
    return this.#check(vectors, 1)[0]!;
  }

  async #call(fn: () => Promise<unknown>): Promise<unknown> {
    try {
      return await fn();
    } catch (cause) {
      throw new EmbeddingError('EMBEDDING_FAILED', `The embedder failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  #check(vectors: unknown, count: number): number[][] {
    if (!Array.isArray(vectors) || vectors.length !== count) {
      throw new EmbeddingError('EMBEDDING_INVALID', `The embedder returned ${Array.isArray(vectors) ? vectors.length : typeof vectors} vectors for ${count} texts.`, {
        details: { expected: count },
      });
    }
    vectors.forEach((vector: unknown, i) => {
      if (!Array.isArray(vector) || vector.length !== this.dims) {
        throw new EmbeddingError('EMBEDDING_INVALID', `Vector ${i} has ${Array.isArray(vector) ? vector.length : 'no'} dimensions; the index config says ${this.dims}.`, {
          details: { expected: this.dims, actual: Array.isArray(vector) ? vector.length : null },
        });
      }
      let zero = true;
      for (const x of vector as unknown[]) {
        if (typeof x !== 'number' || !Number.isFinite(x)) throw new EmbeddingError('EMBEDDING_INVALID', `Vector ${i} holds a component that is not a finite number.`);
        if (x !== 0) zero = false;
      }
      if (zero) throw new EmbeddingError('EMBEDDING_INVALID', `Vector ${i} is all zeros: it has no direction to compare by cosine.`);
    });
    return vectors as number[][];
  }
}
