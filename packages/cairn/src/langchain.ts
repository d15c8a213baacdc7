// @cairn/cairn/langchain: the LangChain adapters of the RAG store (a VectorStore over a collection, and
// embedders both ways). Its own entry because it needs the optional peer @langchain/core, which
// `@cairn/cairn` itself never imports.
export {
  CairnVectorStore,
  embedderFromLangChain,
  embedderToLangChain,
  type CairnVectorStoreConfig,
  type CairnAddOptions,
  type CairnDeleteParams,
  type FromLangChainOptions,
} from '@cairn/rag/langchain';
