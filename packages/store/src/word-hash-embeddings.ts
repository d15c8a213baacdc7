// A deterministic embedder with no model and no network, for tests, examples and benchmarks that
// measure the store rather than the embedder. Not a semantic model: texts are close when they share words.
import type { StoreEmbeddings } from './options.js';

/**
 * Each word (letters and digits, lower-cased) adds 1 to the component its FNV-1a hash picks, so
 * texts sharing words point the same way. `calls` counts the texts embedded.
 */
export class WordHashEmbeddings implements StoreEmbeddings {
  readonly dims: number;
  calls = 0;

  /** @param dims vector dimension. @defaultValue 64 */
  constructor(dims = 64) {
    this.dims = dims;
  }

  /** The vector of `text`, without counting a call. */
  vector(text: string): number[] {
    const v = new Array<number>(this.dims).fill(0);
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? ['∅'];
    for (const word of words) {
      let h = 0x811c9dc5;
      for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193) >>> 0;
      v[h % this.dims]! += 1;
    }
    return v;
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    this.calls += texts.length;
    return texts.map((t) => this.vector(t));
  }

  async embedQuery(text: string): Promise<number[]> {
    this.calls += 1;
    return this.vector(text);
  }
}

