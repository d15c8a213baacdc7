-- The LangGraph store's tables (@cairn/store): items under a dot-joined namespace path and key, and
-- the embeddings of their indexed fields in an untyped vector column. The HNSW indexes on
-- `embedding::halfvec(N)` are partial, one per dimension, and made by the store when it starts
-- with that dimension, not here.
-- CreateTable
CREATE TABLE "store_items" (
    "tenant_id" TEXT NOT NULL DEFAULT 'default',
    "namespace" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3),
    "ttl_minutes" DOUBLE PRECISION,

    CONSTRAINT "store_items_pkey" PRIMARY KEY ("tenant_id","namespace","key")
);

-- CreateTable
CREATE TABLE "store_vectors" (
    "tenant_id" TEXT NOT NULL DEFAULT 'default',
    "namespace" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "field" TEXT NOT NULL,
    "embedding" vector NOT NULL,

    CONSTRAINT "store_vectors_pkey" PRIMARY KEY ("tenant_id","namespace","key","field")
);

-- CreateIndex
CREATE INDEX "store_items_tenant_id_expires_at_idx" ON "store_items"("tenant_id", "expires_at");

-- CreateIndex
CREATE INDEX "store_items_value_idx" ON "store_items" USING GIN ("value" jsonb_path_ops);

-- AddForeignKey
ALTER TABLE "store_vectors" ADD CONSTRAINT "store_vectors_tenant_id_namespace_key_fkey" FOREIGN KEY ("tenant_id", "namespace", "key") REFERENCES "store_items"("tenant_id", "namespace", "key") ON DELETE CASCADE ON UPDATE CASCADE;

-- Prefix matching on the namespace path is a range in code-point order ("a.b." up to "a.b/"), which
-- only an index in the C collation can answer.
-- cairn:manual-index
CREATE INDEX "store_items_tenant_id_namespace_c_idx" ON "store_items" ("tenant_id", "namespace" COLLATE "C", "key");
