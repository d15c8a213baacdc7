// The collection registry (`rag_collections`, one row per tenant and collection): the settings a
// collection was first opened with, so that every later open, in any process, agrees on them.
// Dimension, metric and language must match (another dimension cannot share the collection's
// vectors, another metric or language would silently rank or stem differently); a contradicting
// open is a CollectionSettingsConflictError, and nothing is changed. A collection whose documents
// were written before the registry existed (the migration from the 384-only layout) is registered
// on its first open, with the dimension its stored vectors have.
import type { Row } from '@cairn/db';
import { ValidationError } from '@cairn/core';
import { CollectionSettingsConflictError, RagSchemaError, type RegisteredSettings } from './errors.js';
import type { Queryable, RagStorage } from './storage.js';
import { METRICS, type Metric } from './vector.js';

/** A collection's vector index as recorded: the one ensured for it on open, or none. */
export type VectorIndexSettings = { type: 'hnsw'; precision: 'half' | 'full'; m: number; efConstruction: number } | { type: 'none' };

/** A registered collection's settings. */
export interface RegisteredCollection {
  name: string;
  dimensions: number;
  metric: Metric;
  /** Text search configuration of `tsv` and hybrid search. */
  language: string;
  /** The embedder (its `id`) the collection was first opened with, or null. */
  embedderId: string | null;
  /** The vector index the collection asked for when it was registered. */
  indexSettings: VectorIndexSettings;
  createdAt: Date;
  updatedAt: Date;
}

/** What an open asks for; absent settings are taken from the registry (or defaults for a new collection). */
export interface CollectionRequest {
  dimensions: number | undefined;
  /** The embedder's dimension, used for a new collection when `dimensions` is absent. */
  embedderDimensions: number | undefined;
  metric: Metric | undefined;
  language: string | undefined;
  embedderId: string | undefined;
  indexSettings: VectorIndexSettings;
}

const COLUMNS = ['name', 'dimensions', 'metric', 'language', 'embedder_id', 'index_settings', 'created_at', 'updated_at'] as const;
type RegistryRow = Row<'rag_collections', (typeof COLUMNS)[number]>;
const SELECT_COLUMNS = COLUMNS.join(', ');

/** Defaults of a new collection's settings (the registry's, once it is registered). */
export const DEFAULT_METRIC: Metric = 'cosine';
export const DEFAULT_LANGUAGE = 'english';

function toRegistered(row: RegistryRow): RegisteredCollection {
  const metric = METRICS.find((m) => m === row.metric);
  if (metric === undefined) throw new RagSchemaError(`rag_collections holds metric ${JSON.stringify(row.metric)} for collection "${row.name}", which @cairn/rag does not know.`);
  return {
    name: row.name,
    dimensions: row.dimensions,
    metric,
    language: row.language,
    embedderId: row.embedder_id,
    indexSettings: row.index_settings as VectorIndexSettings,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The settings of `name`, or undefined when it is not registered. */
export async function readRegisteredCollection(client: Queryable, tenantId: string, name: string): Promise<RegisteredCollection | undefined> {
  const { rows } = await client.query<RegistryRow>(`SELECT ${SELECT_COLUMNS} FROM rag_collections WHERE tenant_id = $1 AND name = $2`, [tenantId, name]);
  return rows[0] === undefined ? undefined : toRegistered(rows[0]);
}

/** The settings that differ between what is stored and what was asked for (only those asked for). */
function differences(stored: RegisteredSettings, request: CollectionRequest): { stored: Partial<RegisteredSettings>; requested: Partial<RegisteredSettings> } | undefined {
  const out = { stored: {} as Partial<RegisteredSettings>, requested: {} as Partial<RegisteredSettings> };
  let differs = false;
  if (request.dimensions !== undefined && request.dimensions !== stored.dimensions) {
    [out.stored.dimensions, out.requested.dimensions, differs] = [stored.dimensions, request.dimensions, true];
  }
  if (request.metric !== undefined && request.metric !== stored.metric) [out.stored.metric, out.requested.metric, differs] = [stored.metric, request.metric, true];
  if (request.language !== undefined && request.language !== stored.language) {
    [out.stored.language, out.requested.language, differs] = [stored.language, request.language, true];
  }
  return differs ? out : undefined;
}

/**
 * Opens `name` in the registry: checks what was asked for against its stored settings, or
 * registers it with them. Retried as a whole (RagStorage.run): every step is a read or an
 * INSERT … ON CONFLICT DO NOTHING, so a second run finds what the first wrote. Two processes
 * registering one collection at once: one insert wins, the other reads it and is checked against it.
 */
export function openRegisteredCollection(storage: RagStorage, tenantId: string, name: string, request: CollectionRequest): Promise<RegisteredCollection> {
  return storage.run('opening the collection registry', async () => {
    const client = storage.pool;
    const stored = await readRegisteredCollection(client, tenantId, name);
    if (stored) return checked(stored, tenantId, request);
    // Documents written before the registry (or by a registry-less older version) fix the dimension.
    const { rows: found } = await client.query<{ dims: number }>(
      `SELECT vector_dims(embedding) AS dims FROM documents WHERE tenant_id = $1 AND collection = $2 AND embedding IS NOT NULL LIMIT 1`,
      [tenantId, name],
    );
    const existingDims = found[0]?.dims;
    if (existingDims !== undefined && request.dimensions !== undefined && request.dimensions !== existingDims) {
      throw new CollectionSettingsConflictError(name, tenantId, { dimensions: existingDims }, { dimensions: request.dimensions });
    }
    const dimensions = request.dimensions ?? existingDims ?? request.embedderDimensions;
    if (dimensions === undefined) {
      throw new ValidationError('collection options', [
        { path: 'dimensions', message: `collection "${name}" is new and has no embedder: give its dimensions (the length of its vectors)` },
      ]);
    }
    const { rows } = await client.query<RegistryRow>(
      `INSERT INTO rag_collections (tenant_id, name, dimensions, metric, language, embedder_id, index_settings)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING ${SELECT_COLUMNS}`,
      [tenantId, name, dimensions, request.metric ?? DEFAULT_METRIC, request.language ?? DEFAULT_LANGUAGE, request.embedderId ?? null, JSON.stringify(request.indexSettings)],
    );
    if (rows[0]) return toRegistered(rows[0]);
    // Another process registered it between the read and the insert: check against what it wrote.
    const raced = await readRegisteredCollection(client, tenantId, name);
    if (!raced) throw new RagSchemaError(`Collection "${name}" was neither registered nor insertable in rag_collections.`);
    return checked(raced, tenantId, request);
  });
}

function checked(stored: RegisteredCollection, tenantId: string, request: CollectionRequest): RegisteredCollection {
  const diff = differences(stored, request);
  if (diff) throw new CollectionSettingsConflictError(stored.name, tenantId, diff.stored, diff.requested);
  return stored;
}

/** A collection as listCollections() returns it: its document count and, when registered, its settings. */
export interface CollectionSummary {
  name: string;
  /** Documents in the collection. */
  count: number;
  /** The registered settings; null for a collection with documents that was never opened since the registry exists. */
  settings: RegisteredCollection | null;
}

/** This tenant's registered collections and the collections holding documents, by name. */
export async function listCollections(storage: RagStorage, tenantId: string): Promise<CollectionSummary[]> {
  const { rows } = await storage.query<Partial<RegistryRow> & { collection: string; count: string }>(
    'listing collections',
    `SELECT coalesce(r.name, c.collection) AS collection, coalesce(c.count, 0) AS count, ${COLUMNS.map((c) => `r.${c}`).join(', ')}
       FROM (SELECT ${SELECT_COLUMNS} FROM rag_collections WHERE tenant_id = $1) r
       FULL JOIN (SELECT collection, count(*) AS count FROM documents WHERE tenant_id = $1 GROUP BY collection) c ON c.collection = r.name
      ORDER BY 1`,
    [tenantId],
  );
  return rows.map((r) => ({
    name: r.collection,
    count: Number(r.count),
    settings: r.name === undefined || r.name === null ? null : toRegistered(r as RegistryRow),
  }));
}
