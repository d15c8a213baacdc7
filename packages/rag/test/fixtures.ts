// Test data: seeded clustered vectors (like real embeddings: points near a few hundred topic
// centres, not uniform noise), and brute-force references computed in JavaScript.

/** A seeded PRNG (mulberry32), so every run sees the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a uniform PRNG (Box–Muller). */
export function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
}

export function normalize(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

/**
 * `count` vectors around `clusters` random centres, unit length. `spread` is the noise per
 * dimension relative to the centres' (1.0).
 */
export function clusteredVectors(count: number, dimensions: number, options: { clusters?: number; spread?: number; seed?: number } = {}) {
  const random = rng(options.seed ?? 1);
  const normal = gaussian(random);
  const clusters = options.clusters ?? 100;
  const spread = options.spread ?? 0.5;
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dimensions }, normal));
  const vectors: number[][] = [];
  for (let i = 0; i < count; i++) {
    const c = centres[i % clusters]!;
    vectors.push(normalize(c.map((x) => x + normal() * spread)));
  }
  return { vectors, centres, perturb: (v: readonly number[], amount: number) => normalize(v.map((x) => x + normal() * amount)) };
}

export function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
}

export function l2(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/** Recall of `found` against `truth` (fraction of true neighbours found). */
export function recall(found: readonly string[], truth: readonly string[]): number {
  const t = new Set(truth);
  return truth.length === 0 ? 1 : found.filter((id) => t.has(id)).length / truth.length;
}
