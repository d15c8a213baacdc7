// A deterministic, offline embedder by feature hashing: for demos, tests and air-gapped setups.
// It is LEXICAL, not semantic: texts are similar when they share words (and word pairs), not when
// they mean the same thing. "car" and "automobile" are unrelated to it.
import { z } from 'zod';
import { parseInput } from '@cairn/core';
import { assertTextsNotEmpty, type Embedder } from './embedder.js';

const LocalHashEmbedderOptionsSchema = z
  .object({
    /** Vector length. @defaultValue 384 (the documents column's size) */
    dimensions: z.number().int().min(8).max(16_000).default(384),
    /** Also hash adjacent word pairs, so word order counts a little. @defaultValue true */
    bigrams: z.boolean().default(true),
    /** Seed mixed into every hash; different seeds give unrelated vector spaces. @defaultValue 0 */
    seed: z.number().int().min(0).max(0xffffffff).default(0),
  })
  .strict();

/** Options of LocalHashEmbedder. */
export type LocalHashEmbedderOptions = z.input<typeof LocalHashEmbedderOptionsSchema>;

/** FNV-1a (32-bit) over UTF-16 code units, seeded. Fast, stable across platforms, good enough spread. */
function fnv1a(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // A final avalanche (murmur3's fmix32) so that nearby inputs land far apart.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Lower-cased word tokens (letters and digits of any script). */
export function wordTokens(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * Feature-hashing embedder: each word (and, by default, each adjacent word pair at half weight)
 * adds ±(1 + log tf) to one of `dimensions` buckets chosen by a hash; the vector is L2-normalised,
 * so cosine similarity and inner product agree. Texts without any letter or digit are hashed by
 * character trigrams instead, so every non-empty text gets a non-zero vector.
 *
 * **Lexical, not semantic**: it finds documents that share words with the query, like a bag of
 * words. Use a real model (OpenAICompatibleEmbedder against OpenAI, Ollama or vLLM) for meaning.
 * Deterministic and offline: the same text always gives the same vector, on any machine.
 */
export class LocalHashEmbedder implements Embedder {
  readonly dimensions: number;
  readonly id: string;
  readonly #bigrams: boolean;
  readonly #seed: number;

  constructor(options: LocalHashEmbedderOptions = {}) {
    const opts = parseInput(LocalHashEmbedderOptionsSchema, options, 'LocalHashEmbedder options');
    this.dimensions = opts.dimensions;
    this.#bigrams = opts.bigrams;
    this.#seed = opts.seed;
    this.id = `local-hash:${opts.dimensions}${opts.bigrams ? ':bigrams' : ''}${opts.seed ? `:seed${opts.seed}` : ''}`;
  }

  /** Embeds synchronously (the async methods wrap this). */
  embedSync(text: string): number[] {
    assertTextsNotEmpty([text], 'text');
    const counts = new Map<string, number>();
    const add = (feature: string, weight: number) => counts.set(feature, (counts.get(feature) ?? 0) + weight);
    const words = wordTokens(text);
    if (words.length > 0) {
      for (let i = 0; i < words.length; i++) {
        add(`w:${words[i]!}`, 1);
        if (this.#bigrams && i > 0) add(`b:${words[i - 1]!} ${words[i]!}`, 0.5);
      }
    } else {
      const chars = text.trim();
      for (let i = 0; i + 3 <= Math.max(chars.length, 3); i++) add(`c:${chars.slice(i, i + 3)}`, 1);
    }
    const vector = new Array<number>(this.dimensions).fill(0);
    for (const [feature, tf] of counts) {
      const h = fnv1a(feature, this.#seed);
      const sign = fnv1a(feature, this.#seed ^ 0x9e3779b9) & 1 ? 1 : -1;
      // Sublinear term frequency: a word said ten times is not ten times as relevant.
      // Bucket from the hash's high bits (multiply-shift), which a final avalanche mixes best.
      vector[Math.floor((h / 0x100000000) * this.dimensions)]! += sign * (tf >= 1 ? 1 + Math.log(tf) : tf);
    }
    let norm = 0;
    for (const x of vector) norm += x * x;
    norm = Math.sqrt(norm);
    if (norm === 0) {
      // Every feature cancelled out (vanishingly rare): fall back to one deterministic bucket.
      vector[Math.floor((fnv1a(text, this.#seed) / 0x100000000) * this.dimensions)] = 1;
      return vector;
    }
    for (let i = 0; i < vector.length; i++) vector[i]! /= norm;
    return vector;
  }

  async embedDocuments(texts: readonly string[]): Promise<number[][]> {
    assertTextsNotEmpty(texts);
    return texts.map((t) => this.embedSync(t));
  }

  async embedQuery(text: string): Promise<number[]> {
    return this.embedSync(text);
  }
}
