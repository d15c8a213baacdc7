-- Which embedder computed a document's vector, so that re-ingesting unchanged content can reuse
-- it instead of paying for it again. A nullable column without a default: no table rewrite.
ALTER TABLE "documents" ADD COLUMN "embedded_by" TEXT;
