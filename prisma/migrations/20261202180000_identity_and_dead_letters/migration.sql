-- The database's identity (a random epoch that keys Cairn's Redis caches, so a new database gets a
-- new one) and the write-behind queue's dead letters. Two new tables, nothing rewritten.
-- CreateTable
CREATE TABLE "cairn_identity" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "epoch" TEXT NOT NULL DEFAULT (gen_random_uuid())::text,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cairn_identity_pkey" PRIMARY KEY ("id")
);

INSERT INTO "cairn_identity" ("id") VALUES (1);

-- CreateTable
CREATE TABLE "write_behind_dead_letters" (
    "tenant_id" TEXT NOT NULL,
    "id" BIGSERIAL NOT NULL,
    "type" TEXT NOT NULL,
    "object_id" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "payload" BYTEA,
    "error" TEXT NOT NULL,
    "error_code" TEXT,
    "attempts" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "write_behind_dead_letters_pkey" PRIMARY KEY ("tenant_id","id")
);

-- CreateIndex
CREATE INDEX "write_behind_dead_letters_tenant_id_type_object_id_idx" ON "write_behind_dead_letters"("tenant_id", "type", "object_id");
