// createCairn() against the real PostgreSQL (a fresh database per test file): wiring, tenants,
// health, option validation, start failures and shutdown.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { createTestDatabase, freePort, type TestDatabase } from '@cairn/db/testing';
import { CairnStartError, ValidationError, createCairn, type Cairn } from '../src/index.js';

let database: TestDatabase;
let cairn: Cairn;

beforeAll(async () => {
  database = await createTestDatabase();
  cairn = await createCairn({ databaseUrl: database.url, db: { pool: { max: 4 } } });
});

afterAll(async () => {
  await cairn?.close();
  await database?.drop();
});

describe('createCairn', () => {
  it('wires the checkpointer, objects, sessions, threads and RAG on one database', async () => {
    const first = await cairn.checkpointer.put('thread-1', { messages: ['hi'] }, { metadata: { step: 1 } });
    await cairn.checkpointer.put('thread-1', { messages: ['hi', 'hello'] }, { parentId: first });
    expect((await cairn.checkpointer.get('thread-1'))?.state).toEqual({ messages: ['hi', 'hello'] });

    const profiles = cairn.objects.collection('Profile', z.object({ name: z.string(), visits: z.number() }));
    await profiles.save('u1', { name: 'Ada', visits: 0 });
    const updated = await profiles.update('u1', (p) => ({ ...p, visits: p.visits + 1 }));
    expect(updated).toMatchObject({ version: 2, data: { name: 'Ada', visits: 1 } });

    const session = await cairn.sessions.create({ userId: 'ada' });
    const thread = await cairn.threads.create({ userId: 'ada', sessionId: session.id, title: 'first' });
    await cairn.checkpointer.put(thread.id, { step: 'one' });
    // Deleting the thread (objects package) removes its checkpoints (checkpointer's table).
    await cairn.threads.delete(thread.id);
    expect(await cairn.checkpointer.get(thread.id)).toBeUndefined();

    const docs = await cairn.rag.collection('notes', { dimensions: 384, metric: 'cosine' });
    await docs.upsert([
      { id: 'n1', content: 'Cairns mark trails in the mountains.', metadata: { lang: 'en' } },
      { id: 'n2', content: 'Steinmänner markieren Wege in den Bergen.', metadata: { lang: 'de' } },
    ]);
    const hits = await docs.search('trails in the mountains', { k: 3, where: { lang: 'en' } });
    expect(hits.map((h) => h.id)).toEqual(['n1']);
    expect(hits[0]!.score).toBeGreaterThan(0.3);
    expect(cairn.embedder.dimensions).toBe(384);
  });

  it('reports PostgreSQL and pgvector in its health, and Redis as not configured', async () => {
    const health = await cairn.health();
    expect(health).toMatchObject({
      ok: true,
      status: 'ok',
      tenantId: 'default',
      postgres: { ok: true, embedded: false },
      pgvector: { ok: true },
      redis: { configured: false, ok: false },
    });
    expect(health.postgres.version).toMatch(/^\d+/);
    expect(health.pgvector.version).toMatch(/^0\.\d+\.\d+/);
  });

  it('scopes every component to its tenant', async () => {
    const other = await createCairn({ databaseUrl: database.url, tenantId: 'tenant-b', db: { pool: { max: 2 } } });
    try {
      await other.checkpointer.put('thread-1', { tenant: 'b' });
      expect((await cairn.checkpointer.get('thread-1'))?.state).toEqual({ messages: ['hi', 'hello'] });
      expect(await other.objects.collection('Profile', z.object({ name: z.string() })).load('u1')).toBeNull();
      const docs = await other.rag.collection('notes');
      expect(await docs.count()).toBe(0);
      expect((await other.health()).tenantId).toBe('tenant-b');
    } finally {
      await other.close();
    }
  });

  it('gives views of other tenants on the same connections', async () => {
    const tenantC = cairn.forTenant('tenant-c');
    expect(cairn.forTenant('tenant-c')).toBe(tenantC);
    expect(cairn.forTenant('default')).toBe(cairn);
    expect(tenantC.tenantId).toBe('tenant-c');
    expect(tenantC.db).toBe(cairn.db);
    await tenantC.checkpointer.put('thread-1', { tenant: 'c' });
    expect((await tenantC.checkpointer.get('thread-1'))?.state).toEqual({ tenant: 'c' });
    expect((await cairn.checkpointer.get('thread-1'))?.state).toEqual({ messages: ['hi', 'hello'] });
    await tenantC.objects.collection('Profile', z.object({ name: z.string() })).save('u1', { name: 'Cee' });
    expect((await cairn.objects.collection('Profile', z.object({ name: z.string() })).load('u1'))?.data.name).toBe('Ada');
    expect(await (await tenantC.rag.collection('notes')).count()).toBe(0);
    expect(() => cairn.forTenant('no spaces')).toThrow(ValidationError);
  });

  it('shares one metrics registry across components', async () => {
    const metrics = await cairn.metricsRegistry.metrics();
    expect(metrics).toMatch(/cairn_checkpointer_operations_total\{[^}]*operation="put"/);
    expect(metrics).toMatch(/^cairn_db_pool_connections\{state="max"\} [1-9]/m);
    expect(metrics).toMatch(/^cairn_notifications_delivered_total \d+/m);
    expect(metrics).toMatch(/^cairn_db_dropped_connections_total 0$/m);
  });

  it('reports the write-behind queue in the registry when objects write behind', async () => {
    const behind = await createCairn({
      databaseUrl: database.url,
      objects: { persistence: { mode: 'write-behind', onError: () => undefined } },
      db: { pool: { max: 2 } },
    });
    try {
      const notes = behind.objects.collection('Note', z.object({ text: z.string() }));
      await notes.save('n1', { text: 'queued' });
      await behind.objects.flush();
      const metrics = await behind.metricsRegistry.metrics();
      expect(metrics).toMatch(/^cairn_write_behind_persisted_total 1$/m);
      expect(metrics).toMatch(/^cairn_write_behind_dead_lettered_total 0$/m);
      expect(metrics).toMatch(/^cairn_write_behind_pending 0$/m);
    } finally {
      await behind.close();
    }
  });

  it('keeps connections and credentials out of JSON', () => {
    const json = JSON.stringify(cairn);
    expect(json).not.toMatch(/pool|password/i);
    expect(JSON.parse(json)).toMatchObject({ tenantId: 'default' });
  });
});

describe('createCairn options and failures', () => {
  it('rejects bad options listing every problem, before connecting', async () => {
    let error: unknown;
    try {
      await createCairn({ databaseUrl: database.url, redisUrl: 'http://localhost:6379', tenantId: 'no spaces allowed', notifications: 'smoke' as 'auto' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path).sort()).toEqual(['notifications', 'redisUrl', 'tenantId']);
  });

  it('passes invalid component options through as ValidationErrors, closing what had opened', async () => {
    const failure = createCairn({ databaseUrl: database.url, db: { pool: { max: 1 } }, checkpointer: { compression: { algorithm: 'zstd' as 'gzip' } } });
    await expect(failure).rejects.toBeInstanceOf(ValidationError);
    await expect(failure).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'compression.algorithm' })] });
  });

  it('names the component that failed to start and leaves nothing open', async () => {
    const port = await freePort();
    const failure = createCairn({ databaseUrl: `postgresql://postgres@127.0.0.1:${port}/nothing`, db: { pool: { connectionTimeoutMs: 2000 } } });
    await expect(failure).rejects.toBeInstanceOf(CairnStartError);
    await expect(failure).rejects.toMatchObject({ code: 'CAIRN_START_FAILED', component: 'database', cause: { code: 'DATABASE_UNAVAILABLE' } });
  });

  it('reports a database without pgvector as down', async () => {
    const bare = await createTestDatabase({ migrated: false });
    const instance = await createCairn({ databaseUrl: bare.url, db: { migrate: false, pool: { max: 1 } } });
    try {
      const health = await instance.health();
      expect(health).toMatchObject({ ok: false, status: 'down', postgres: { ok: true }, pgvector: { ok: false, version: null } });
      expect(health.pgvector.error).toMatch(/vector extension/);
    } finally {
      await instance.close();
      await bare.drop();
    }
  });

  it('closes every component once; later calls resolve and use fails with typed errors', async () => {
    const instance = await createCairn({ databaseUrl: database.url, db: { pool: { max: 1 } } });
    await instance.checkpointer.put('closing', { a: 1 });
    const closing = instance.close();
    expect(instance.close()).toBe(closing);
    await closing;
    expect(instance.closed).toBe(true);
    await expect(instance.checkpointer.put('closing', { a: 2 })).rejects.toMatchObject({ code: 'CLOSED', component: 'checkpointer' });
    await expect(instance.objects.collection('X', z.object({})).load('x')).rejects.toMatchObject({ code: 'CLOSED', component: 'object store' });
    await expect(instance.rag.collection('notes')).rejects.toMatchObject({ code: 'CLOSED', component: 'Rag instance' });
    const health = await instance.health();
    expect(health.ok).toBe(false);
  });
});
