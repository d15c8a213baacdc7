// Vectors on the wire and the three distance metrics: validation (length, finiteness, float4
// range), pgvector's binary and text formats, and what a score means for each metric.
//
// Vectors travel to PostgreSQL in pgvector's binary format (what its `vector_recv` reads), as
// node-postgres sends Buffer parameters in binary: 4 bytes per dimension instead of ~20 characters,
// no float-to-decimal formatting in Node and no decimal parsing in PostgreSQL, and exactly the
// single-precision values pgvector stores. Results come back as text ('[1,2,3]'). Both are done
// here rather than with the `pgvector` npm package: 0.3.x requires Node >= 22 (Cairn supports
// Node 20), and each direction is a few lines.
import { DimensionMismatchError, InvalidVectorError } from './errors.js';

/** The distance metrics pgvector supports for `vector` and Cairn exposes. */
export const METRICS = ['cosine', 'l2', 'inner_product'] as const;
/** A distance metric. */
export type Metric = (typeof METRICS)[number];

/** A vector as callers may pass it. */
export type VectorInput = readonly number[] | Float32Array | Float64Array;

interface MetricSql {
  /** pgvector's distance operator (smaller is closer for all three). */
  operator: '<=>' | '<->' | '<#>';
  /** Operator class for an index that serves this operator. */
  opclass: 'vector_cosine_ops' | 'vector_l2_ops' | 'vector_ip_ops';
  /** The same for an index on the half-precision cast `embedding::halfvec(N)`. */
  halfOpclass: 'halfvec_cosine_ops' | 'halfvec_l2_ops' | 'halfvec_ip_ops';
  /** Short name used in index names. */
  short: 'cosine' | 'l2' | 'ip';
}

/** The SQL pieces for each metric. Never built from user input: the metric is an enum. */
export const METRIC_SQL: Readonly<Record<Metric, MetricSql>> = {
  cosine: { operator: '<=>', opclass: 'vector_cosine_ops', halfOpclass: 'halfvec_cosine_ops', short: 'cosine' },
  l2: { operator: '<->', opclass: 'vector_l2_ops', halfOpclass: 'halfvec_l2_ops', short: 'l2' },
  inner_product: { operator: '<#>', opclass: 'vector_ip_ops', halfOpclass: 'halfvec_ip_ops', short: 'ip' },
};

/**
 * Converts pgvector's distance (what the operator returns, smaller = closer) into the score a
 * result carries: cosine similarity (1 − cosine distance, in [−1, 1]); the inner product itself
 * (pgvector's `<#>` is its negation); Euclidean distance unchanged (smaller = closer).
 */
export function scoreFromDistance(metric: Metric, distance: number): number {
  switch (metric) {
    case 'cosine':
      return 1 - distance;
    case 'inner_product':
      return -distance;
    case 'l2':
      return distance;
  }
}

/** The largest distance a result may have for the given minimum score (similarity metrics). */
export function distanceForMinScore(metric: Exclude<Metric, 'l2'>, minScore: number): number {
  return metric === 'cosine' ? 1 - minScore : -minScore;
}

/** True when a larger score is better (similarities); false for l2, where the score is a distance. */
export function higherIsBetter(metric: Metric): boolean {
  return metric !== 'l2';
}

// Module-level copies of the builtins the per-element loop calls (cheaper than global lookups).
const { isFinite } = Number;
const { abs } = Math;

// float4's largest finite value: pgvector stores single precision and rejects anything beyond.
const FLOAT4_MAX = 3.4028234663852886e38;

/**
 * Checks a vector's length and values and returns it as a plain array. `what` names it in errors
 * ("documents[3].embedding"). Zero vectors are refused for cosine, where they have no direction
 * (pgvector would return NaN distances for them).
 */
export function checkVector(vector: unknown, dimensions: number, metric: Metric, what: string): number[] {
  if (!Array.isArray(vector) && !(vector instanceof Float32Array) && !(vector instanceof Float64Array)) {
    throw new InvalidVectorError(`${what} must be an array of numbers, got ${vector === null ? 'null' : typeof vector}.`);
  }
  const values = vector as ArrayLike<unknown>;
  if (values.length !== dimensions) {
    throw new DimensionMismatchError(
      dimensions,
      values.length,
      `${what} has ${values.length} dimensions; the collection expects ${dimensions}.`,
    );
  }
  const out = new Array<number>(values.length);
  let nonZero = false;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (typeof x !== 'number' || !isFinite(x)) {
      throw new InvalidVectorError(`${what}[${i}] is ${typeof x === 'number' ? String(x) : typeof x}; vectors must hold finite numbers.`, {
        details: { position: i },
      });
    }
    if (abs(x) > FLOAT4_MAX) {
      throw new InvalidVectorError(`${what}[${i}] = ${x} is outside the single-precision range pgvector stores.`, { details: { position: i } });
    }
    if (x !== 0) nonZero = true;
    out[i] = x;
  }
  if (metric === 'cosine' && !nonZero) {
    throw new InvalidVectorError(`${what} is all zeros; a zero vector has no direction, so cosine similarity is undefined for it.`);
  }
  return out;
}

/**
 * pgvector's binary form (vector_recv): int16 dimensions, int16 zero, then big-endian float4s.
 * Values are rounded to single precision, as pgvector would store them anyway.
 */
export function encodeVector(vector: readonly number[]): Buffer {
  const buf = Buffer.allocUnsafe(4 + 4 * vector.length);
  buf.writeInt16BE(vector.length, 0);
  buf.writeInt16BE(0, 2);
  for (let i = 0; i < vector.length; i++) buf.writeFloatBE(vector[i]!, 4 + 4 * i);
  return buf;
}

/**
 * PostgreSQL's binary array format (array_recv) of `vector` elements, nulls allowed: sent as one
 * Buffer parameter with `::vector[]`. `elementOid` is the vector type's oid in this database.
 */
export function encodeVectorArray(vectors: readonly (readonly number[] | null)[], elementOid: number): Buffer {
  const dims = vectors.find((v) => v !== null)?.length ?? 0;
  const hasNull = vectors.some((v) => v === null);
  const size = 20 + vectors.reduce((n, v) => n + 4 + (v === null ? 0 : 4 + 4 * dims), 0);
  const buf = Buffer.allocUnsafe(size);
  buf.writeInt32BE(1, 0); // one dimension
  buf.writeInt32BE(hasNull ? 1 : 0, 4);
  buf.writeUInt32BE(elementOid, 8);
  buf.writeInt32BE(vectors.length, 12);
  buf.writeInt32BE(1, 16); // lower bound
  let at = 20;
  for (const v of vectors) {
    if (v === null) {
      buf.writeInt32BE(-1, at);
      at += 4;
      continue;
    }
    buf.writeInt32BE(4 + 4 * v.length, at);
    buf.writeInt16BE(v.length, at + 4);
    buf.writeInt16BE(0, at + 6);
    at += 8;
    for (let i = 0; i < v.length; i++, at += 4) buf.writeFloatBE(v[i]!, at);
  }
  return buf;
}

/** Parses pgvector's text output (`[1,2,3]`, possibly with exponents) into numbers. */
export function parseVector(text: string): number[] {
  return JSON.parse(text) as number[];
}
