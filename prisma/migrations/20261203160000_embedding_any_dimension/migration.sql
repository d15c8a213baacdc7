-- Collections of any embedding dimension side by side in one table, and a registry of their settings.
--
-- `documents.embedding` loses its declared dimension (vector(384) becomes vector). Only the type
-- modifier changes, so PostgreSQL rewrites nothing: the stored vectors stay as they are. Vector
-- indexes become per dimension: partial expression indexes on `embedding::halfvec(N)` limited to
-- `vector_dims(embedding) = N`. The predicate is what lets rows of other dimensions into the table
-- (the cast is evaluated only for the rows an index covers), and searches repeat it so the planner
-- matches the index. This migration rebuilds the 384-dimension cosine index in that form (same name,
-- same parameters). @cairn/rag creates the indexes of other dimensions when such a collection first opens.
--
-- Locks: DROP INDEX and ALTER COLUMN TYPE take ACCESS EXCLUSIVE on documents for a moment (no rewrite),
-- then CREATE INDEX holds SHARE (reads go on, writes wait) while the HNSW graph of the existing
-- 384-dimension rows is built. See "Upgrading past 20261203150000_embedding_any_dimension" in packages/db/README.md.
DROP INDEX IF EXISTS "documents_embedding_hnsw_cosine_idx";

ALTER TABLE "documents" ALTER COLUMN "embedding" TYPE vector;

-- cairn:manual-index
CREATE INDEX "documents_embedding_hnsw_cosine_idx" ON "documents" USING hnsw (("embedding"::halfvec(384)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64) WHERE vector_dims("embedding") = 384;

-- CreateTable
CREATE TABLE "rag_collections" (
    "tenant_id" TEXT NOT NULL DEFAULT 'default',
    "name" TEXT NOT NULL,
    "dimensions" INTEGER NOT NULL,
    "metric" TEXT NOT NULL,
    "language" TEXT NOT NULL,
    "embedder_id" TEXT,
    "index_settings" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rag_collections_pkey" PRIMARY KEY ("tenant_id","name")
);
