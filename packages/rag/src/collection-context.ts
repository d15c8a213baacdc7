// What the parts of a collection share: the services its Rag lends it (CollectionContext), the
// collection's own settings (CollectionScope), and how a statement runs, on the pool (retried) or
// on an open transaction's client (which decides about retries itself).
import type pg from 'pg';
import type { Embedder } from './embedder.js';
import { EmbedderRequiredError } from './errors.js';
import type { OpenedCollectionOptions } from './options.js';
import type { Queryable, RagStorage } from './storage.js';
import type { CreateIndexOptions, CreateIndexResult, VectorIndexInfo } from './vector-index.js';

/** What a collection needs from its Rag. @internal */
export interface CollectionContext {
  storage: RagStorage;
  tenantId: string;
  iterativeScans: boolean;
  /** Oid of the vector type, for binary vector[] parameters. */
  vectorOid: number;
  assertOpen(): void;
  createIndex(options: CreateIndexOptions): Promise<CreateIndexResult>;
  /** The vector indexes on documents, as searches plan with them (cached by the Rag). */
  vectorIndexes(): Promise<readonly VectorIndexInfo[]>;
  /** Whether this collection's unfiltered scans currently iterate from the start ('auto' mode). */
  unfilteredScanIterates(): boolean;
  /** An unfiltered scan without iterating returned fewer than k rows. */
  unfilteredScanCameUpShort(): void;
}

/** One collection's settings with its Rag's services: what ingest and search planning work from. @internal */
export interface CollectionScope {
  readonly ctx: CollectionContext;
  readonly name: string;
  /** As resolved by rag.collection(): the registry's dimension, metric and language. */
  readonly options: OpenedCollectionOptions;
  readonly embedder: Embedder | undefined;
}

/** Runs one statement: on the pool through RagStorage (retried), or on an open transaction's client. */
export type Statements = <R extends pg.QueryResultRow = pg.QueryResultRow>(operation: string, text: string, values: readonly unknown[]) => Promise<pg.QueryResult<R>>;

/** Statements on the pool, each retried after transient failures (RagStorage.query). */
export function onPool(storage: RagStorage): Statements {
  return (operation, text, values) => storage.query(operation, text, values);
}

/** A transaction's client as Statements: no retry of its own (the transaction decides). */
export function onClient(client: Queryable): Statements {
  return (_operation, text, values) => client.query(text, values as unknown[]);
}

/** The collection's embedder, or EmbedderRequiredError saying what it was needed for. */
export function requireEmbedder(scope: CollectionScope, why: string): Embedder {
  if (!scope.embedder) {
    throw new EmbedderRequiredError(`Collection "${scope.name}" has no embedder, which is needed to ${why}. Pass one to createRag() or rag.collection().`);
  }
  return scope.embedder;
}
