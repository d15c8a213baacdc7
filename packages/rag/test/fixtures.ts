// Test data: seeded clustered vectors (like real embeddings: points near a few hundred topic
// centres, not uniform noise), and brute-force references computed in JavaScript.

// Module-level copies: inside jest's VM context every access to a global (Math, Number) goes
// through the context's global object and costs about a microsecond; hot loops here make millions.
const { sqrt, log, cos, imul, PI } = Math;

/** A seeded PRNG (mulberry32), so every run sees the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples from a uniform PRNG (Box–Muller). */
export function gaussian(random: () => number): () => number {
  return () => sqrt(-2 * log(random() + 1e-12)) * cos(2 * PI * random());
}

export function normalize(v: number[]): number[] {
  const n = sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

/**
 * `count` unit vectors shaped like real embeddings: clustered, with a low intrinsic dimension.
 * Points are drawn around `clusters` centres in a `latent`-dimensional space (noise `spread`
 * relative to the centres' spread), mapped into `dimensions` by one fixed random projection, plus
 * a little isotropic noise. (Uniform or isotropic Gaussian noise in 384 dimensions would make
 * every point nearly equidistant from every other: no index, and no model, behaves like that.)
 */
export function clusteredVectors(
  count: number,
  dimensions: number,
  options: { clusters?: number; spread?: number; latent?: number; seed?: number } = {},
) {
  const random = rng(options.seed ?? 1);
  const normal = gaussian(random);
  const clusters = options.clusters ?? 100;
  const spread = options.spread ?? 0.35;
  const latent = options.latent ?? 24;
  // Plain loops over typed arrays: this runs 10–20× faster than map/reduce inside jest's VM context.
  const projection = new Float64Array(dimensions * latent);
  for (let i = 0; i < projection.length; i++) projection[i] = normal();
  const centres = new Float64Array(clusters * latent);
  for (let i = 0; i < centres.length; i++) centres[i] = normal();
  const z = new Float64Array(latent);
  const vectors: number[][] = [];
  for (let n = 0; n < count; n++) {
    const c = (n % clusters) * latent;
    for (let j = 0; j < latent; j++) z[j] = centres[c + j]! + normal() * spread;
    const v = new Array<number>(dimensions);
    let norm = 0;
    for (let i = 0; i < dimensions; i++) {
      let x = normal() * 0.5;
      const row = i * latent;
      for (let j = 0; j < latent; j++) x += projection[row + j]! * z[j]!;
      v[i] = x;
      norm += x * x;
    }
    norm = sqrt(norm);
    for (let i = 0; i < dimensions; i++) v[i] = v[i]! / norm;
    vectors.push(v);
  }
  return { vectors };
}

export function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  return dot(a, b) / sqrt(dot(a, a) * dot(b, b));
}

export function l2(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return sqrt(s);
}

/** Recall of `found` against `truth` (fraction of true neighbours found). */
export function recall(found: readonly string[], truth: readonly string[]): number {
  const t = new Set(truth);
  return truth.length === 0 ? 1 : found.filter((id) => t.has(id)).length / truth.length;
}
