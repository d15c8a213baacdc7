-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "vector";

-- CreateTable
CREATE TABLE "sessions" (
    "tenant_id" TEXT NOT NULL DEFAULT 'default',
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "last_activity_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3),

    CONSTRAINT "sessions_pkey" PRIMARY KEY ("tenant_id","id")
);

-- CreateTable
CREATE TABLE "threads" (
    "tenant_id" TEXT NOT NULL DEFAULT 'default',
    "id" TEXT NOT NULL,
    "session_id" TEXT,
    "user_id" TEXT NOT NULL,
    "title" TEXT,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "threads_pkey" PRIMARY KEY ("tenant_id","id")
);

-- CreateTable
CREATE TABLE "checkpoints" (
    "tenant_id" TEXT NOT NULL DEFAULT 'default',
    "thread_id" TEXT NOT NULL,
    "checkpoint_ns" TEXT NOT NULL DEFAULT '',
    "checkpoint_id" TEXT NOT NULL,
    "parent_checkpoint_id" TEXT,
    "step" INTEGER NOT NULL DEFAULT 0,
    "state" BYTEA NOT NULL,
    "state_format" TEXT NOT NULL DEFAULT 'json-v1',
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "checkpoints_pkey" PRIMARY KEY ("tenant_id","thread_id","checkpoint_ns","checkpoint_id")
);

-- CreateTable
CREATE TABLE "checkpoint_writes" (
    "tenant_id" TEXT NOT NULL DEFAULT 'default',
    "thread_id" TEXT NOT NULL,
    "checkpoint_ns" TEXT NOT NULL DEFAULT '',
    "checkpoint_id" TEXT NOT NULL,
    "task_id" TEXT NOT NULL,
    "task_path" TEXT NOT NULL DEFAULT '',
    "idx" INTEGER NOT NULL,
    "channel" TEXT NOT NULL,
    "value" BYTEA NOT NULL,
    "value_format" TEXT NOT NULL DEFAULT 'json-v1',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "checkpoint_writes_pkey" PRIMARY KEY ("tenant_id","thread_id","checkpoint_ns","checkpoint_id","task_id","idx")
);

-- CreateTable
CREATE TABLE "objects" (
    "tenant_id" TEXT NOT NULL DEFAULT 'default',
    "type" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "objects_pkey" PRIMARY KEY ("tenant_id","type","id")
);

-- CreateTable
CREATE TABLE "object_versions" (
    "tenant_id" TEXT NOT NULL DEFAULT 'default',
    "type" TEXT NOT NULL,
    "object_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "data" JSONB NOT NULL,
    "operation" TEXT NOT NULL DEFAULT 'save',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "object_versions_pkey" PRIMARY KEY ("tenant_id","type","object_id","version")
);

-- CreateTable
CREATE TABLE "documents" (
    "tenant_id" TEXT NOT NULL DEFAULT 'default',
    "collection" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "embedding" vector(384),
    "tsv" tsvector,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "documents_pkey" PRIMARY KEY ("tenant_id","collection","id")
);

-- CreateIndex
CREATE INDEX "sessions_tenant_id_user_id_created_at_idx" ON "sessions"("tenant_id", "user_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "sessions_tenant_id_expires_at_idx" ON "sessions"("tenant_id", "expires_at");

-- CreateIndex
CREATE INDEX "threads_tenant_id_session_id_created_at_idx" ON "threads"("tenant_id", "session_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "threads_tenant_id_user_id_created_at_idx" ON "threads"("tenant_id", "user_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "checkpoints_tenant_id_thread_id_checkpoint_ns_parent_checkp_idx" ON "checkpoints"("tenant_id", "thread_id", "checkpoint_ns", "parent_checkpoint_id");

-- CreateIndex
CREATE INDEX "checkpoints_tenant_id_created_at_idx" ON "checkpoints"("tenant_id", "created_at");

-- CreateIndex
CREATE INDEX "checkpoints_metadata_idx" ON "checkpoints" USING GIN ("metadata" jsonb_path_ops);

-- CreateIndex
CREATE INDEX "objects_tenant_id_type_updated_at_idx" ON "objects"("tenant_id", "type", "updated_at" DESC);

-- CreateIndex
CREATE INDEX "objects_data_idx" ON "objects" USING GIN ("data" jsonb_path_ops);

-- CreateIndex
CREATE INDEX "documents_tenant_id_collection_updated_at_idx" ON "documents"("tenant_id", "collection", "updated_at" DESC);

-- CreateIndex
CREATE INDEX "documents_metadata_idx" ON "documents" USING GIN ("metadata" jsonb_path_ops);

-- AddForeignKey
ALTER TABLE "threads" ADD CONSTRAINT "threads_tenant_id_session_id_fkey" FOREIGN KEY ("tenant_id", "session_id") REFERENCES "sessions"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "object_versions" ADD CONSTRAINT "object_versions_tenant_id_type_object_id_fkey" FOREIGN KEY ("tenant_id", "type", "object_id") REFERENCES "objects"("tenant_id", "type", "id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Indexes Prisma's schema language cannot express. Each is marked so the offline schema engine
-- keeps `prisma migrate dev` from proposing to drop it (packages/db/engine/wasm-schema-engine.js).

-- cairn:manual-index
CREATE INDEX "documents_embedding_hnsw_cosine_idx" ON "documents" USING hnsw ("embedding" vector_cosine_ops) WITH (m = 16, ef_construction = 64);

-- cairn:manual-index
CREATE INDEX "documents_tsv_gin_idx" ON "documents" USING gin ("tsv");
