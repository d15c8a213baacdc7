// A LangChain `VectorStore` over a Cairn collection, so LangChain JS retrievers, chains and agents
// can use Cairn's store. Filters are Cairn's MetadataFilter, or PGVectorStore's with
// `filterSyntax: 'pgvectorstore'`; scores are the collection's (see SearchResult: similarity for
// cosine / inner product, distance for l2), or pgvector's raw distance with `scoreNormalization:
// 'distance'`, which is what PGVectorStore returns by default.
import { randomUUID } from 'node:crypto';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { Callbacks } from '@langchain/core/callbacks/manager';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { maximalMarginalRelevance } from '@langchain/core/utils/math';
import { VectorStore, type MaxMarginalRelevanceSearchOptions } from '@langchain/core/vectorstores';
import type { CairnDb } from '@cairn/db';
import { ValidationError } from '@cairn/core';
import type { PgVectorCollection } from './collection.js';
import type { MetadataFilter } from './filter.js';
import { fromPGVectorStoreFilter, type PGVectorStoreFilter } from './pgvector-store-filter.js';
import type { CollectionOptions, Metadata } from './options.js';
import { createRag, type Rag } from './rag.js';

/** The length of the vectors `embeddings` returns: its `dimensions` property when it has one, else a probe's. */
async function dimensionsOf(embeddings: EmbeddingsInterface): Promise<number> {
  const declared = (embeddings as { dimensions?: unknown }).dimensions;
  if (typeof declared === 'number' && Number.isInteger(declared) && declared > 0) return declared;
  const probe = await embeddings.embedQuery('dimension probe');
  if (!Array.isArray(probe) || probe.length === 0) {
    throw new ValidationError('LangChain embeddings', [{ path: 'embedQuery', message: 'returned no vector for a probe text, so the dimension is unknown: give collectionOptions.dimensions' }]);
  }
  return probe.length;
}

/** How results and filters look to LangChain code (PGVectorStore's conventions, for code ported from it). */
export interface CairnVectorStoreConventions {
  /**
   * 'cairn': Cairn's filter language (`{ n: { $gte: 5 } }`). 'pgvectorstore': PGVectorStore's
   * (`{ n: { gte: 5 } }`, `in`, `notIn`, `arrayContains`, `neq`), converted by fromPGVectorStoreFilter.
   * @defaultValue 'cairn'
   */
  filterSyntax?: 'cairn' | 'pgvectorstore';
  /**
   * The number similaritySearch*WithScore returns: 'similarity', the collection's score (higher is
   * closer for cosine and inner product); 'distance', pgvector's raw distance (lower is closer),
   * PGVectorStore's default. @defaultValue 'similarity'
   */
  scoreNormalization?: 'similarity' | 'distance';
}

/** How to reach the collection: an open one, or a Rag / CairnDb plus a name and options. */
export type CairnVectorStoreConfig = CairnVectorStoreConventions &
  (
    | { collection: PgVectorCollection }
    | { rag: Rag; collectionName: string; collectionOptions?: CollectionOptions }
    | { db: CairnDb; tenantId?: string; collectionName: string; collectionOptions?: CollectionOptions }
  );

/** A hit with both numbers: the collection's score and pgvector's raw distance. */
export interface ScoredDocument {
  document: DocumentInterface;
  /** The collection's score (see SearchResult). */
  score: number;
  /** pgvector's raw distance (`<=>`, `<->` or `<#>`): lower is closer. */
  distance: number;
}

/** Options of addDocuments / addVectors. */
export interface CairnAddOptions {
  /** Ids for the documents; else each document's `id`, else a random UUID. */
  ids?: string[];
}

/** Arguments of delete(): ids, or a (non-empty) metadata filter. */
export interface CairnDeleteParams {
  ids?: string[];
  /** In the store's filter syntax. */
  filter?: MetadataFilter | PGVectorStoreFilter;
}

/**
 * LangChain `VectorStore` backed by a Cairn collection.
 *
 * @example
 * const store = await CairnVectorStore.initialize(new OpenAIEmbeddings({ dimensions: 384 }), { db, collectionName: 'kb' });
 * await store.addDocuments([new Document({ pageContent: 'Postgres is a database', metadata: { lang: 'en' } })]);
 * const docs = await store.asRetriever({ k: 4, filter: { lang: 'en' } }).invoke('what is postgres?');
 */
export class CairnVectorStore extends VectorStore {
  declare FilterType: MetadataFilter | PGVectorStoreFilter;
  /** The Cairn collection behind this store. */
  readonly collection: PgVectorCollection;
  readonly filterSyntax: 'cairn' | 'pgvectorstore';
  readonly scoreNormalization: 'similarity' | 'distance';

  constructor(embeddings: EmbeddingsInterface, fields: { collection: PgVectorCollection } & CairnVectorStoreConventions) {
    super(embeddings, fields);
    this.collection = fields.collection;
    this.filterSyntax = fields.filterSyntax ?? 'cairn';
    this.scoreNormalization = fields.scoreNormalization ?? 'similarity';
  }

  /**
   * Opens (or wraps) the collection and returns a store over it. The collection's dimension is
   * `collectionOptions.dimensions`, else the embeddings object's `dimensions` (OpenAIEmbeddings
   * has one when asked for a size), else the length of one probe embedding (one call to
   * `embedQuery`). A registered collection of another dimension is a CollectionSettingsConflictError.
   */
  static async initialize(embeddings: EmbeddingsInterface, config: CairnVectorStoreConfig): Promise<CairnVectorStore> {
    const conventions = { filterSyntax: config.filterSyntax, scoreNormalization: config.scoreNormalization };
    if ('collection' in config) return new CairnVectorStore(embeddings, { ...conventions, collection: config.collection });
    const rag = 'rag' in config ? config.rag : createRag(config.db, config.tenantId === undefined ? {} : { tenantId: config.tenantId });
    const options = config.collectionOptions ?? {};
    const dimensions = options.dimensions ?? (await dimensionsOf(embeddings));
    const collection = await rag.collection(config.collectionName, { ...options, dimensions });
    return new CairnVectorStore(embeddings, { ...conventions, collection });
  }

  _vectorstoreType(): string {
    return 'cairn-pgvector';
  }

  /** Embeds the documents with this store's embeddings and upserts them (one transaction). */
  async addDocuments(documents: DocumentInterface[], options: CairnAddOptions = {}): Promise<string[]> {
    const vectors = await this.embeddings.embedDocuments(documents.map((d) => d.pageContent));
    return this.addVectors(vectors, documents, options);
  }

  /** Upserts documents with their vectors (one transaction). Returns the ids written. */
  async addVectors(vectors: number[][], documents: DocumentInterface[], options: CairnAddOptions = {}): Promise<string[]> {
    if (vectors.length !== documents.length || (options.ids && options.ids.length !== documents.length)) {
      throw new ValidationError('addVectors arguments', [
        { path: 'vectors', message: `${vectors.length} vectors, ${documents.length} documents${options.ids ? `, ${options.ids.length} ids` : ''}: counts must match` },
      ]);
    }
    const ids = documents.map((d, i) => options.ids?.[i] ?? d.id ?? randomUUID());
    await this.collection.upsert(
      documents.map((d, i) => ({ id: ids[i]!, content: d.pageContent, metadata: (d.metadata ?? {}) as Metadata, embedding: vectors[i]! })),
    );
    return ids;
  }

  /** The k nearest documents with their scores (see scoreNormalization). */
  async similaritySearchVectorWithScore(query: number[], k: number, filter?: this['FilterType']): Promise<[DocumentInterface, number][]> {
    const hits = await this.similaritySearchVectorWithScoreAndDistance(query, k, filter);
    return hits.map((h) => [h.document, this.scoreNormalization === 'distance' ? h.distance : h.score]);
  }

  /** The k nearest documents, each with the collection's score and pgvector's raw distance. */
  async similaritySearchVectorWithScoreAndDistance(query: number[], k: number, filter?: this['FilterType']): Promise<ScoredDocument[]> {
    const where = this.#where(filter);
    const hits = await this.collection.searchByVector(query, { k, ...(where ? { where } : {}) });
    return hits.map((h) => ({ document: new Document({ id: h.id, pageContent: h.content, metadata: h.metadata }), score: h.score, distance: h.distance }));
  }

  /** A filter in the store's syntax as Cairn's. */
  #where(filter: this['FilterType'] | undefined): MetadataFilter | undefined {
    if (filter === undefined) return undefined;
    return this.filterSyntax === 'pgvectorstore' ? fromPGVectorStoreFilter(filter) : (filter as MetadataFilter);
  }

  /** Maximal marginal relevance: fetchK candidates re-ranked for diversity (lambda 1 = relevance only). */
  override async maxMarginalRelevanceSearch(
    query: string,
    options: MaxMarginalRelevanceSearchOptions<this['FilterType']>,
    _callbacks?: Callbacks,
  ): Promise<DocumentInterface[]> {
    const { k, fetchK = 20, lambda = 0.5 } = options;
    const where = this.#where(options.filter);
    const vector = await this.embeddings.embedQuery(query);
    const hits = await this.collection.searchByVector(vector, { k: Math.max(fetchK, k), includeEmbedding: true, ...(where ? { where } : {}) });
    const picked = maximalMarginalRelevance(
      vector,
      hits.map((h) => h.embedding!),
      lambda,
      k,
    );
    return picked.map((i) => {
      const h = hits[i]!;
      return new Document({ id: h.id, pageContent: h.content, metadata: h.metadata });
    });
  }

  /** Deletes by ids or by a metadata filter. */
  override async delete(params: CairnDeleteParams = {}): Promise<void> {
    if (params.ids && params.filter) {
      throw new ValidationError('delete arguments', [{ path: '', message: 'give ids or filter, not both' }]);
    }
    if (params.ids) await this.collection.delete(params.ids);
    else if (params.filter) await this.collection.delete({ where: this.#where(params.filter)! });
    else throw new ValidationError('delete arguments', [{ path: '', message: 'give ids or filter' }]);
  }

  /** Creates a store and adds the texts (metadata: one object for all, or one per text). */
  static override async fromTexts(
    texts: string[],
    metadatas: object[] | object,
    embeddings: EmbeddingsInterface,
    config: CairnVectorStoreConfig,
  ): Promise<CairnVectorStore> {
    const docs = texts.map(
      (text, i) => new Document({ pageContent: text, metadata: (Array.isArray(metadatas) ? metadatas[i] : metadatas) as Record<string, unknown> }),
    );
    return CairnVectorStore.fromDocuments(docs, embeddings, config);
  }

  /** Creates a store and adds the documents. */
  static override async fromDocuments(docs: DocumentInterface[], embeddings: EmbeddingsInterface, config: CairnVectorStoreConfig): Promise<CairnVectorStore> {
    const store = await CairnVectorStore.initialize(embeddings, config);
    await store.addDocuments(docs);
    return store;
  }

  /** Keeps the database and embeddings out of logs. */
  override toJSON(): ReturnType<VectorStore['toJSON']> {
    return { lc: 1, type: 'not_implemented', id: ['cairn', 'CairnVectorStore'] };
  }
}
