// Bridges between Cairn's Embedder and LangChain's `EmbeddingsInterface`. Part of the
// @cairn/rag/langchain entry: only applications that have @langchain/core installed load it.
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { z } from 'zod';
import { parseInput } from '@cairn/core';
import { assertEmbeddings, assertTextsNotEmpty, type Embedder } from './embedder.js';

const FromLangChainOptionsSchema = z
  .object({
    /** Length of the vectors the LangChain embeddings return. */
    dimensions: z.number().int().min(1).max(16_000),
    /** A name for logs. @defaultValue 'langchain' */
    id: z.string().min(1).max(200).default('langchain'),
  })
  .strict();

/** Options of embedderFromLangChain(). */
export type FromLangChainOptions = z.input<typeof FromLangChainOptionsSchema>;

/** Wraps LangChain embeddings (OpenAIEmbeddings, OllamaEmbeddings, …) as a Cairn Embedder, checking every result. */
export function embedderFromLangChain(embeddings: EmbeddingsInterface, options: FromLangChainOptions): Embedder {
  const opts = parseInput(FromLangChainOptionsSchema, options, 'LangChain embedder options');
  return {
    dimensions: opts.dimensions,
    id: opts.id,
    async embedDocuments(texts) {
      assertTextsNotEmpty(texts);
      if (texts.length === 0) return [];
      const vectors = await embeddings.embedDocuments([...texts]);
      assertEmbeddings(vectors, texts.length, opts.dimensions, `LangChain embeddings "${opts.id}"`);
      return vectors;
    },
    async embedQuery(text) {
      assertTextsNotEmpty([text], 'query');
      const vector = await embeddings.embedQuery(text);
      assertEmbeddings([vector], 1, opts.dimensions, `LangChain embeddings "${opts.id}"`);
      return vector;
    },
  };
}

/** Exposes a Cairn Embedder as LangChain `EmbeddingsInterface` (for LangChain retrievers and chains). */
export function embedderToLangChain(embedder: Embedder): EmbeddingsInterface {
  return {
    embedDocuments: (texts: string[]) => embedder.embedDocuments(texts),
    embedQuery: (text: string) => embedder.embedQuery(text),
  };
}
