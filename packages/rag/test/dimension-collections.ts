// Test data for the any-dimension tests: one collection per dimension, `c<N>`, of clustered
// vectors with ids d0…, content "<word> document <i>" and metadata { group: i % 10, word }.
import type { CairnDb } from '@cairn/db';
import type { PgVectorCollection, Rag } from '../src/index.js';
import { clusteredVectors } from './fixtures.js';

export const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];

export interface DimensionMeta {
  group: number;
  word: string;
  [key: string]: unknown;
}

export interface LoadedCollection {
  collection: PgVectorCollection<DimensionMeta>;
  vectors: number[][];
}

/** Opens and fills `c<N>` for each dimension (language 'simple'), then ANALYZEs documents. */
export async function loadDimensionCollections(db: CairnDb, rag: Rag, dimensions: readonly number[], rows: number, clusters: number): Promise<Map<number, LoadedCollection>> {
  const loaded = new Map<number, LoadedCollection>();
  for (const dims of dimensions) {
    const collection = await rag.collection<DimensionMeta>(`c${dims}`, { dimensions: dims, language: 'simple' });
    const { vectors } = clusteredVectors(rows, dims, { clusters, seed: dims });
    await collection.upsert(vectors.map((v, i) => ({ id: `d${i}`, content: `${WORDS[i % 5]} document ${i}`, metadata: { group: i % 10, word: WORDS[i % 5]! }, embedding: v })));
    loaded.set(dims, { collection, vectors });
  }
  await db.pool.query('ANALYZE documents');
  return loaded;
}
