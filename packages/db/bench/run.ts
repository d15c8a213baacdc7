// Benchmark: the generated Prisma client (over @prisma/adapter-pg) against raw node-postgres on the
// same pool, same database, same process. Entry point: reads BENCH_DATABASE_URL / BENCH_N.
import { createDb } from '@cairn/db';
import pg from 'pg';

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const n = Number(process.env.BENCH_N ?? 2_000);
const database = `cairn_bench_db_${process.pid}`;

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(sql);
  await c.end();
}

interface Figures {
  opsPerSec: number;
  p50: number;
  p99: number;
}

async function measure(count: number, op: (i: number) => Promise<unknown>): Promise<Figures> {
  for (let i = 0; i < Math.min(200, count); i++) await op(count + i); // warm-up, on ids of its own
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await op(i);
    times.push(performance.now() - t);
  }
  const total = performance.now() - start;
  times.sort((a, b) => a - b);
  return { opsPerSec: (count / total) * 1000, p50: times[Math.floor(count * 0.5)]!, p99: times[Math.floor(count * 0.99)]! };
}

await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
await admin(`CREATE DATABASE ${database}`);
const url = new URL(adminUrl);
url.pathname = `/${database}`;
const db = await createDb({ url: url.toString(), migrate: true, pool: { max: 4 } });
try {
  const data = { text: 'x'.repeat(1024) };
  const rows: [string, Figures, Figures][] = [];
  rows.push([
    'insert object',
    await measure(n, (i) => db.prisma.storedObject.create({ data: { type: 'Bench', id: `p${i}`, data } })),
    await measure(n, (i) => db.pool.query(`INSERT INTO objects (tenant_id, type, id, data, updated_at) VALUES ('default', 'Bench', $1, $2, now())`, [`r${i}`, data])),
  ]);
  rows.push([
    'find by primary key',
    await measure(n, (i) => db.prisma.storedObject.findUnique({ where: { tenantId_type_id: { tenantId: 'default', type: 'Bench', id: `p${i}` } } })),
    await measure(n, (i) => db.pool.query(`SELECT * FROM objects WHERE tenant_id = 'default' AND type = 'Bench' AND id = $1`, [`r${i}`])),
  ]);
  rows.push([
    '$queryRaw tagged template',
    await measure(n, (i) => db.prisma.$queryRaw`SELECT data FROM objects WHERE tenant_id = 'default' AND type = 'Bench' AND id = ${`p${i}`}`),
    await measure(n, (i) => db.pool.query(`SELECT data FROM objects WHERE tenant_id = 'default' AND type = 'Bench' AND id = $1`, [`r${i}`])),
  ]);
  const fmt = (x: number) => x.toFixed(x < 10 ? 2 : 0);
  console.log(`\n@cairn/db bench: ${n} sequential ops each, 1 KiB JSON, one client (PostgreSQL ${(await db.healthCheck()).serverVersion})\n`);
  console.log('| operation | Prisma ops/s | p50 ms | p99 ms | raw pg ops/s | p50 ms | p99 ms | Prisma / raw |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [name, prisma, raw] of rows) {
    console.log(`| ${name} | ${fmt(prisma.opsPerSec)} | ${fmt(prisma.p50)} | ${fmt(prisma.p99)} | ${fmt(raw.opsPerSec)} | ${fmt(raw.p50)} | ${fmt(raw.p99)} | ${(prisma.opsPerSec / raw.opsPerSec).toFixed(2)}× |`);
  }
} finally {
  await db.close();
  await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
}
