import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ValidationError } from '@cairn/core';
import { createDb, DatabaseUnavailableError, DatabaseUrlError, type CairnDb } from '@cairn/db';
import { createTestDatabase, createTestDb, freePort } from '@cairn/db/testing';

describe('createDb against PostgreSQL', () => {
  let db: CairnDb;
  beforeAll(async () => {
    db = await createTestDb({ pool: { applicationName: 'cairn-db-test', statementTimeoutMs: 10_000 } });
  });
  afterAll(async () => {
    await db.close();
  });

  it('round-trips rows through the generated client', async () => {
    const session = await db.prisma.session.create({ data: { userId: 'u1', metadata: { plan: 'pro' } } });
    expect(session.tenantId).toBe('default');
    const thread = await db.prisma.thread.create({ data: { userId: 'u1', sessionId: session.id, title: 'first' } });
    const found = await db.prisma.thread.findMany({ where: { tenantId: 'default', sessionId: session.id } });
    expect(found.map((t) => t.id)).toEqual([thread.id]);
  });

  it('stores and ranks embeddings with pgvector', async () => {
    const v = (x: number) => `[${Array.from({ length: 384 }, (_, i) => (i === 0 ? x : 0.01)).join(',')}]`;
    await db.prisma.$executeRaw`INSERT INTO documents (collection, id, content, embedding) VALUES ('c', 'a', 'alpha', ${v(1)}::vector), ('c', 'b', 'beta', ${v(-1)}::vector)`;
    const rows = await db.prisma.$queryRaw<{ id: string }[]>`SELECT id FROM documents ORDER BY embedding <=> ${v(0.9)}::vector LIMIT 1`;
    expect(rows[0]?.id).toBe('a');
  });

  it('reports health, pgvector and pool figures', async () => {
    const health = await db.healthCheck();
    expect(health).toMatchObject({ ok: true, embedded: false });
    expect(health.pgvectorVersion).toMatch(/^\d+\.\d+/);
    expect(db.poolStats()).toMatchObject({ max: 5 });
    const { rows } = await db.pool.query(`SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS st`);
    expect(rows[0]).toEqual({ app: 'cairn-db-test', st: '10s' });
  });

  it('applies a transaction\'s own settings with its BEGIN, and only inside it', async () => {
    const read = (settings?: Record<string, string>) =>
      db.transaction(async (client) => (await client.query<{ st: string }>(`SELECT current_setting('statement_timeout') AS st`)).rows[0]!.st, settings ? { settings } : {});
    expect(await read({ statement_timeout: '1234' })).toBe('1234ms');
    expect(await read()).toBe('10s');
    await expect(read({ statement_timeout: "1'; DROP TABLE sessions; --" })).rejects.toThrow(/Not a transaction setting/);
  });

  it('keeps credentials out of JSON', () => {
    expect(JSON.stringify(db)).not.toContain('pool');
  });
});

describe('createDb input errors', () => {
  it('rejects invalid options with every problem listed', async () => {
    const err = await createDb({ url: 'postgresql://localhost/x', pool: { max: 0, idleTimeoutMs: -1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['pool.max', 'pool.idleTimeoutMs']);
  });

  it('turns a malformed URL into a DatabaseUrlError', async () => {
    await expect(createDb({ url: 'postgres://user:pw@:5432' })).rejects.toBeInstanceOf(DatabaseUrlError);
  });

  it('fails fast with a readable error when nothing listens at the URL', async () => {
    const port = await freePort();
    const err = await createDb({ url: `postgresql://postgres:secret@127.0.0.1:${port}/cairn`, pool: { connectionTimeoutMs: 2_000 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toMatch(/connection refused/);
    expect((err as Error).message).not.toContain('secret');
  });

  it('fails within the connect timeout when the server never answers', async () => {
    // A listening socket that never speaks the protocol: the client must give up on its own.
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as { port: number };
    try {
      const err = await createDb({ url: `postgresql://postgres@127.0.0.1:${port}/cairn`, pool: { connectionTimeoutMs: 500 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatabaseUnavailableError);
      expect((err as Error).message).toMatch(/within 500 ms|timeout/i);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => silent.close(r));
    }
  });

  it('says when the database does not exist', async () => {
    const gone = await createTestDatabase({ migrated: false });
    await gone.drop();
    await expect(createDb({ url: gone.url })).rejects.toThrow(/does not exist/);
  });
});

describe('createDb with a non-public schema', () => {
  it('migrates into and queries that schema', async () => {
    const database = await createTestDatabase({ migrated: false });
    const db = await createDb({ url: database.url, schema: 'agents', migrate: true });
    try {
      await db.prisma.storedObject.create({ data: { type: 'Note', id: 'n1', data: { text: 'hi' } } });
      const { rows } = await db.pool.query<{ table_schema: string }>(`SELECT table_schema FROM information_schema.tables WHERE table_name = 'objects'`);
      expect(rows.map((r) => r.table_schema)).toEqual(['agents']);
    } finally {
      await db.close();
      await database.drop();
    }
  });
});
