-- The embedding index moves to half precision: HNSW over `embedding::halfvec(384)`. The column keeps
-- full-precision vectors, and @cairn/rag re-ranks the index's candidates by their exact distance,
-- so recall stays within a few thousandths of a full-precision index's while it is about 40% smaller (it stays
-- in shared_buffers longer), inserts walk a smaller graph, and HNSW accepts up to 4000 dimensions
-- instead of 2000. A column of another dimension needs the same N in this cast (packages/db/README.md).
-- On a table that already holds many documents the build locks it for its duration: see "Upgrading"
-- in packages/db/README.md.
DROP INDEX IF EXISTS "documents_embedding_hnsw_cosine_idx";

-- cairn:manual-index
CREATE INDEX "documents_embedding_hnsw_cosine_idx" ON "documents" USING hnsw (("embedding"::halfvec(384)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64);
