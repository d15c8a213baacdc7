-- Messages of threads (MessageStore in @cairn/objects). threads.message_seq is the counter appends take
-- positions from under the thread row's lock. Adding it with a constant default rewrites nothing
-- (PostgreSQL 11+ stores the default in the catalog): a brief ACCESS EXCLUSIVE lock on threads, no scan.
-- AlterTable
ALTER TABLE "threads" ADD COLUMN     "message_seq" BIGINT NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "messages" (
    "tenant_id" TEXT NOT NULL DEFAULT 'default',
    "thread_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "role" TEXT NOT NULL,
    "parts" JSONB NOT NULL DEFAULT '[]',
    "content" TEXT NOT NULL DEFAULT '',
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("tenant_id","thread_id","id")
);

-- CreateIndex
CREATE UNIQUE INDEX "messages_tenant_id_thread_id_seq_key" ON "messages"("tenant_id", "thread_id", "seq");

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_tenant_id_thread_id_fkey" FOREIGN KEY ("tenant_id", "thread_id") REFERENCES "threads"("tenant_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;
