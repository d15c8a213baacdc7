// @cairn/rag/langchain: the LangChain adapters (a VectorStore over a Cairn collection, and
// embedders both ways). A separate entry because it needs the optional peer @langchain/core:
// `@cairn/rag` itself never imports LangChain.
export {
  CairnVectorStore,
  type CairnVectorStoreConfig,
  type CairnAddOptions,
  type CairnDeleteParams,
} from './langchain-vector-store.js';
export { embedderFromLangChain, embedderToLangChain, type FromLangChainOptions } from './langchain-embedder.js';
