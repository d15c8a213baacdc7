// Retention at scale: prune on one thread of N checkpoints (a linear chain plus a dead branch),
// with and without keeping ancestors, timed. BENCH_RETENTION_SIZES=100000,1000000 by default;
// BENCH_ADMIN_URL says where the scratch database is created.
//   pnpm --filter @cairn/checkpointer exec tsx --conditions=@cairn/source bench/retention.ts
import { adminUrlFromEnv, describeMachine, envIntegerList, printTable, scratchDatabase } from '@cairn/bench-kit';
import { createDb } from '@cairn/db';
import { PostgresCheckpointer } from '../src/index.js';
import { loadLongThread } from '../test/fixtures/long-thread.js';

const SIZES = envIntegerList('BENCH_RETENTION_SIZES', [100_000, 1_000_000]);

const scratch = await scratchDatabase({ adminUrl: adminUrlFromEnv(), prefix: 'cairn_bench_ret' });
const db = await createDb({ url: scratch.url, migrate: true, pool: { max: 4, statementTimeoutMs: 60_000 } });
const cp = new PostgresCheckpointer(db, { tenantId: 'bench' });
try {
  const rows: string[][] = [];
  for (const size of SIZES) {
    for (const keepAncestors of [true, false]) {
      const thread = `t${size}-${keepAncestors}`;
      await loadLongThread(db.pool, 'bench', thread, size, 1000);
      const started = performance.now();
      const result = await cp.prune({ threadId: thread, keepLast: 1000, keepAncestors });
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      rows.push([`${size.toLocaleString('en-US')} + 1,000 branch`, String(keepAncestors), result.deleted.toLocaleString('en-US'), seconds]);
      process.stderr.write(`${rows.at(-1)!.join(', ')}\n`);
    }
  }
  printTable(['checkpoints in the thread', 'keepAncestors', 'deleted', 'seconds'], rows, { align: ['left', 'left', 'left', 'left'] });
  console.log(`\n${describeMachine()}`);
} finally {
  await cp.close();
  await db.close();
  await scratch.drop();
}
