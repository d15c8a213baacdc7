// @cairn/rag/langchain: the LangChain adapters (a VectorStore over a Cairn collection, and
// embedders both ways). A separate entry because it needs the optional peer @langchain/core:
// `@cairn/rag` itself never imports LangChain.
export {
  CairnVectorStore,
  type CairnVectorStoreConfig,
  type CairnAddOptions,
  type CairnDeleteParams,
  type CairnVectorStoreConventions,
  type ScoredDocument,
} from './langchain-vector-store.js';
export { fromPGVectorStoreFilter, type PGVectorStoreFilter } from './pgvector-store-filter.js';
export { embedderFromLangChain, embedderToLangChain, type FromLangChainOptions } from './langchain-embedder.js';
