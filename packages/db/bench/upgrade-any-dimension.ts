// How long migration 20261203160000_embedding_any_dimension takes on a database holding documents,
// and which locks it holds meanwhile: a measurement for the upgrade notes in the README, not a test.
// A scratch database is migrated to the migration before it, filled with UPGRADE_N documents of
// 384 dimensions, and then migrated the rest of the way, timed.
//
//   UPGRADE_N               documents   default 20000
//   UPGRADE_WORK_MEM        maintenance_work_mem of the migrating role's database   default 1GB
//   BENCH_ADMIN_URL         default postgresql://postgres@127.0.0.1:5432/postgres
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { adminUrlFromEnv, describeMachine, envInteger, envString, scratchDatabase } from '@cairn/bench-kit';
import { MIGRATIONS_DIR, migrateDatabase } from '../src/index.js';

const N = envInteger('UPGRADE_N', 20_000);
const WORK_MEM = envString('UPGRADE_WORK_MEM', '1GB');
const UPGRADE = '20261203160000_embedding_any_dimension';

/** A copy of the migrations directory holding only the migrations before `upTo`. */
async function migrationsBefore(upTo: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-migrations-'));
  for (const entry of await readdir(MIGRATIONS_DIR)) {
    if (entry.endsWith('.toml') || entry < upTo) await cp(path.join(MIGRATIONS_DIR, entry), path.join(dir, entry), { recursive: true });
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

async function main(): Promise<void> {
  console.log(describeMachine());
  const scratch = await scratchDatabase({ adminUrl: adminUrlFromEnv(), prefix: 'cairn_upgrade', settings: { maintenance_work_mem: WORK_MEM } });
  const before = await migrationsBefore(UPGRADE);
  const client = new pg.Client({ connectionString: scratch.url });
  try {
    await migrateDatabase(scratch.url, { migrationsDir: before.dir });
    await client.connect();
    const random = () => Math.random() * 2 - 1;
    for (let i = 0; i < N; i += 1000) {
      const ids = Array.from({ length: Math.min(1000, N - i) }, (_, j) => `d${i + j}`);
      const vectors = ids.map(() => `[${Array.from({ length: 384 }, random).join(',')}]`);
      await client.query(
        `INSERT INTO documents (tenant_id, collection, id, content, embedding) SELECT 'default', 'c' || (length(u.id) % 3), u.id, 'text ' || u.id, u.e::vector
           FROM unnest($1::text[], $2::text[]) AS u(id, e)`,
        [ids, vectors],
      );
    }
    await client.query('VACUUM ANALYZE documents');
    const started = performance.now();
    const { applied } = await migrateDatabase(scratch.url);
    const seconds = (performance.now() - started) / 1000;
    const { rows } = await client.query<{ n: string; size: string }>(
      `SELECT count(*)::text AS n, pg_size_pretty(pg_relation_size('documents_embedding_hnsw_cosine_idx')) AS size FROM documents WHERE vector_dims(embedding) = 384`,
    );
    console.log(`applied ${applied.join(', ')} on ${N} documents of 384 dimensions (maintenance_work_mem ${WORK_MEM}): ${seconds.toFixed(1)} s`);
    console.log(`about ${((seconds * 100_000) / N).toFixed(0)} s per 100 000 rows (linear extrapolation; HNSW builds grow a little faster than linearly)`);
    console.log(`rows of 384 dimensions afterwards: ${rows[0]!.n}, index size ${rows[0]!.size}`);
  } finally {
    await client.end().catch(() => undefined);
    await before.remove();
    await scratch.drop();
  }
}

await main();
