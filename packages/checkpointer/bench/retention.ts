// Retention at scale: prune on one thread of N checkpoints (a linear chain plus a dead branch),
// with and without keeping ancestors, timed. BENCH_RETENTION_SIZES=100000,1000000 by default.
//   pnpm --filter @cairn/checkpointer exec tsx --conditions=@cairn/source bench/retention.ts
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { createDb } from '@cairn/db';
import { PostgresCheckpointer } from '../src/index.js';
import { loadLongThread } from '../test/fixtures/long-thread.js';

const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const SIZES = (process.env.BENCH_RETENTION_SIZES ?? '100000,1000000').split(',').map(Number);

const name = `cairn_bench_ret_${process.pid}_${randomBytes(3).toString('hex')}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE "${name}"`);
const url = new URL(ADMIN_URL);
url.pathname = `/${name}`;
const db = await createDb({ url: url.toString(), migrate: true, pool: { max: 4, statementTimeoutMs: 60_000 } });
const cp = new PostgresCheckpointer(db, { tenantId: 'bench' });
try {
  console.log(`| checkpoints in the thread | keepAncestors | deleted | seconds |\n|---|---|---|---|`);
  for (const size of SIZES) {
    for (const keepAncestors of [true, false]) {
      const thread = `t${size}-${keepAncestors}`;
      await loadLongThread(db.pool, 'bench', thread, size, 1000);
      const started = performance.now();
      const result = await cp.prune({ threadId: thread, keepLast: 1000, keepAncestors });
      console.log(`| ${size.toLocaleString('en-US')} + 1,000 branch | ${keepAncestors} | ${result.deleted.toLocaleString('en-US')} | ${((performance.now() - started) / 1000).toFixed(2)} |`);
    }
  }
  console.log(`\n${os.cpus().length} × ${os.cpus()[0]?.model}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, Node ${process.version}`);
} finally {
  await cp.close();
  await db.close();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}
