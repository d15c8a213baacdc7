import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDb, EmbeddedDatabaseLockedError, MIGRATIONS_DIR, type CairnDb } from '@cairn/db';
import { readdir } from 'node:fs/promises';
import { PACKAGE_DIR } from '../src/prisma-project.js';

const TSX = path.join(PACKAGE_DIR, 'node_modules', '.bin', 'tsx');

describe('the embedded database (PGlite + pgvector over the wire protocol)', () => {
  let dir: string;
  let dataDir: string;
  let db: CairnDb;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cairn-embedded-'));
    dataDir = path.join(dir, 'pglite');
    db = await createDb({ embedded: { dataDir } });
  });
  afterAll(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies the same migrations, vector column and HNSW index included', async () => {
    const applied = await db.prisma.$queryRaw<{ migration_name: string }[]>`SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY 1`;
    const expected = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(applied.map((r) => r.migration_name)).toEqual(expected);
    const indexes = await db.prisma.$queryRaw<{ indexdef: string }[]>`SELECT indexdef FROM pg_indexes WHERE indexname = 'documents_embedding_hnsw_cosine_idx'`;
    expect(indexes[0]?.indexdef).toMatch(/USING hnsw \(\(\(embedding\)::halfvec\(384\)\) halfvec_cosine_ops\)/);
  });

  it('round-trips through the generated client and answers a cosine query', async () => {
    await db.prisma.storedObject.create({ data: { type: 'Note', id: 'n1', data: { text: 'hello' } } });
    expect(await db.prisma.storedObject.findUnique({ where: { tenantId_type_id: { tenantId: 'default', type: 'Note', id: 'n1' } } })).toMatchObject({
      data: { text: 'hello' },
      version: 1,
    });
    const v = (x: number) => `[${Array.from({ length: 384 }, (_, i) => (i === 1 ? x : 0.02)).join(',')}]`;
    await db.prisma.$executeRaw`INSERT INTO documents (collection, id, content, embedding) VALUES ('c', 'near', 'a', ${v(1)}::vector), ('c', 'far', 'b', ${v(-1)}::vector)`;
    const rows = await db.prisma.$queryRaw<{ id: string }[]>`SELECT id FROM documents ORDER BY embedding <=> ${v(0.8)}::vector LIMIT 1`;
    expect(rows[0]?.id).toBe('near');
  });

  it('reports itself healthy and embedded, with pgvector', async () => {
    expect(await db.healthCheck()).toMatchObject({ ok: true, embedded: true, pgvectorVersion: expect.stringMatching(/^0\.8/) });
  });

  it('refuses a second handle on the same data directory in this process', async () => {
    await expect(createDb({ embedded: { dataDir } })).rejects.toBeInstanceOf(EmbeddedDatabaseLockedError);
  });

  it('gives a second process a clear error instead of corrupting the data', async () => {
    const out = await new Promise<string>((resolve) => {
      execFile(TSX, ['--conditions=@cairn/source', path.join(PACKAGE_DIR, 'test', 'fixtures', 'open-embedded.ts'), dataDir], { cwd: PACKAGE_DIR, timeout: 60_000 }, (_err, stdout, stderr) =>
        resolve(stdout + stderr),
      );
    });
    expect(out).toContain('EMBEDDED_DATABASE_LOCKED');
    expect(out).toContain(`process ${process.pid}`);
  });

  it('keeps its data across close and reopen', async () => {
    await db.close();
    db = await createDb({ embedded: { dataDir } });
    const note = await db.prisma.storedObject.findFirst({ where: { tenantId: 'default', type: 'Note', id: 'n1' } });
    expect(note?.data).toEqual({ text: 'hello' });
  });
});
