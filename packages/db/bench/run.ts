// Benchmark: the generated Prisma client (over @prisma/adapter-pg) against raw node-postgres on the
// same pool, same database, same process, interleaved in rounds that rotate which side goes first.
// Entry point: BENCH_ADMIN_URL (where the scratch database is created), BENCH_N (ops per side and
// row, default 2 000), BENCH_ROUNDS (default 10).
import { adminUrlFromEnv, compareInterleaved, describeMachine, envInteger, printTable, scratchDatabase, type SideMeasurement } from '@cairn/bench-kit';
import { createDb } from '@cairn/db';

const n = envInteger('BENCH_N', 2_000);
const rounds = envInteger('BENCH_ROUNDS', 10);
// Warm-up on ids of its own (n and up), so the measured inserts and lookups keep theirs.
const options = { ops: n, rounds, warmup: { calls: Math.min(200, n), from: n } };

const scratch = await scratchDatabase({ adminUrl: adminUrlFromEnv(), prefix: 'cairn_bench_db' });
const db = await createDb({ url: scratch.url, migrate: true, pool: { max: 4 } });
try {
  const data = { text: 'x'.repeat(1024) };
  const rows: [string, SideMeasurement, SideMeasurement][] = [];
  const row = async (name: string, sides: { prisma: (i: number) => Promise<unknown>; raw: (i: number) => Promise<unknown> }) => {
    const r = await compareInterleaved(sides, options);
    rows.push([name, r.prisma, r.raw]);
  };
  await row('insert object', {
    prisma: (i) => db.prisma.storedObject.create({ data: { type: 'Bench', id: `p${i}`, data } }),
    raw: (i) => db.pool.query(`INSERT INTO objects (tenant_id, type, id, data, updated_at) VALUES ('default', 'Bench', $1, $2, now())`, [`r${i}`, data]),
  });
  await row('find by primary key', {
    prisma: (i) => db.prisma.storedObject.findUnique({ where: { tenantId_type_id: { tenantId: 'default', type: 'Bench', id: `p${i}` } } }),
    raw: (i) => db.pool.query(`SELECT * FROM objects WHERE tenant_id = 'default' AND type = 'Bench' AND id = $1`, [`r${i}`]),
  });
  await row('$queryRaw tagged template', {
    prisma: (i) => db.prisma.$queryRaw`SELECT data FROM objects WHERE tenant_id = 'default' AND type = 'Bench' AND id = ${`p${i}`}`,
    raw: (i) => db.pool.query(`SELECT data FROM objects WHERE tenant_id = 'default' AND type = 'Bench' AND id = $1`, [`r${i}`]),
  });
  const fmt = (x: number) => x.toFixed(x < 10 ? 2 : 0);
  console.log(
    `\n@cairn/db bench: ${n} sequential ops per side in ${rounds} interleaved rounds, 1 KiB JSON, one client; ` +
      `PostgreSQL ${(await db.healthCheck()).serverVersion}; ${describeMachine()}\n`,
  );
  printTable(
    ['operation', 'Prisma ops/s', 'p50 ms', 'p99 ms', 'raw pg ops/s', 'p50 ms', 'p99 ms', 'Prisma / raw'],
    rows.map(([name, prisma, raw]) => [name, fmt(prisma.opsPerSec), fmt(prisma.p50), fmt(prisma.p99), fmt(raw.opsPerSec), fmt(raw.p50), fmt(raw.p99), `${(prisma.opsPerSec / raw.opsPerSec).toFixed(2)}×`]),
  );
} finally {
  await db.close();
  await scratch.drop();
}
