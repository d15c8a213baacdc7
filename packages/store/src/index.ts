// @cairn/store: LangGraph long-term memory (a BaseStore) on Cairn's PostgreSQL tables, and the
// same store in memory.
export { CairnStore, StoreCacheOptionsSchema, type CairnStoreOptions } from './cairn-store.js';
export { CairnMemoryStore, MemoryStoreData } from './memory-store.js';
export { BaseCairnStore, type GetOptions, type SearchOptions, type PutOptions } from './base-cairn-store.js';
export {
  StoreOptionsSchema,
  StoreIndexConfigSchema,
  StoreTtlConfigSchema,
  MAX_INDEXED_DIMENSIONS,
  type StoreOptions,
  type ResolvedStoreOptions,
  type StoreIndexConfig,
  type StoreTtlConfig,
  type StoreEmbeddings,
  type EmbedFunction,
} from './options.js';
export { STORE_INDEX_PREFIX, vectorIndexName } from './vector-index.js';
export { StoreError, EmbeddingError } from './errors.js';
export { WordHashEmbeddings } from './word-hash-embeddings.js';
/** LangGraph's error for a bad namespace, re-exported where the store's users import it. */
export { InvalidNamespaceError } from '@langchain/langgraph-checkpoint';
