// How to hold collections of several embedding dimensions in PostgreSQL: a measurement to choose
// the layout by, not a test. On a scratch database it compares
//   A. one untyped `vector` column with one partial expression HNSW index per dimension,
//      `((embedding::halfvec(N)) halfvec_cosine_ops) WHERE vector_dims(embedding) = N`;
//   B. one typed column per dimension (`embedding_384 vector(384)`, …), an HNSW index on each cast;
// for: whether the planner uses the index for a query written to match (expression and predicate),
// the cost of inserting with the indexes in place, and index sizes. It also checks what happens to a
// query that does not repeat the predicate (A needs it, or the index cannot serve).
//
//   LAYOUT_N     rows per dimension   default 2000
//   LAYOUT_DIMS  dimensions           default 384,1536
//   BENCH_ADMIN_URL                   default postgresql://postgres@127.0.0.1:5432/postgres
import pg from 'pg';
import { adminUrlFromEnv, describeMachine, envInteger, scratchDatabase } from '@cairn/bench-kit';
import { clusteredVectors } from '../test/fixtures.js';

const N = envInteger('LAYOUT_N', 2000);
const DIMS = (process.env.LAYOUT_DIMS ?? '384,1536').split(',').map((d) => Number.parseInt(d, 10));
const vec = (v: readonly number[]) => `[${v.join(',')}]`;

async function timed(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function plan(client: pg.Client, sql: string, values: unknown[]): Promise<string> {
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, values);
  const text = rows.map((r) => r['QUERY PLAN']).join('\n');
  const index = /Index Scan using (\S+)/.exec(text);
  return index ? `index ${index[1]}` : /Seq Scan/.test(text) ? 'seq scan' : text.split('\n')[0]!;
}

async function main(): Promise<void> {
  console.log(describeMachine());
  console.log(`rows per dimension ${N}, dimensions ${DIMS.join(', ')}\n`);
  const scratch = await scratchDatabase({ adminUrl: adminUrlFromEnv(), prefix: 'cairn_layout' });
  const client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS vector');
    await client.query(`SET maintenance_work_mem = '256MB'`);
    await client.query(`CREATE TABLE a_docs (collection text, id text, embedding vector, PRIMARY KEY (collection, id))`);
    for (const d of DIMS) {
      await client.query(
        `CREATE INDEX a_hnsw_${d} ON a_docs USING hnsw ((embedding::halfvec(${d})) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64) WHERE vector_dims(embedding) = ${d}`,
      );
    }
    await client.query(`CREATE TABLE b_docs (collection text, id text, ${DIMS.map((d) => `embedding_${d} vector(${d})`).join(', ')}, PRIMARY KEY (collection, id))`);
    for (const d of DIMS) {
      await client.query(`CREATE INDEX b_hnsw_${d} ON b_docs USING hnsw ((embedding_${d}::halfvec(${d})) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64)`);
    }
    const rows: string[][] = [];
    for (const d of DIMS) {
      const { vectors } = clusteredVectors(N + 20, d, { seed: d });
      const data = vectors.slice(0, N);
      const queries = vectors.slice(N);
      const insert = async (sql: string) => {
        for (let i = 0; i < data.length; i += 200) {
          const chunk = data.slice(i, i + 200);
          await client.query(sql, [chunk.map((_, j) => `d${i + j}`), chunk.map(vec)]);
        }
      };
      const aMs = await timed(() => insert(`INSERT INTO a_docs (collection, id, embedding) SELECT 'c${d}', id, e::vector FROM unnest($1::text[], $2::text[]) AS u(id, e)`));
      const bMs = await timed(() => insert(`INSERT INTO b_docs (collection, id, embedding_${d}) SELECT 'c${d}', id, e::vector(${d}) FROM unnest($1::text[], $2::text[]) AS u(id, e)`));
      await client.query('ANALYZE a_docs; ANALYZE b_docs');
      const q = vec(queries[0]!);
      const half = `halfvec(${d})`;
      const aMatching = await plan(
        client,
        `SELECT id FROM a_docs WHERE collection = $1 AND vector_dims(embedding) = ${d} ORDER BY embedding::${half} <=> $2::${half} LIMIT 10`,
        [`c${d}`, q],
      );
      const aNoPredicate = await plan(client, `SELECT id FROM a_docs WHERE collection = $1 ORDER BY embedding::${half} <=> $2::${half} LIMIT 10`, [`c${d}`, q]);
      const bPlan = await plan(client, `SELECT id FROM b_docs WHERE collection = $1 ORDER BY embedding_${d}::${half} <=> $2::${half} LIMIT 10`, [`c${d}`, q]);
      // With a prepared (generic) plan the dimension is still a literal in the SQL, so the predicate is provable.
      await client.query(`PREPARE a_generic_${d}(text, ${half}) AS SELECT id FROM a_docs WHERE collection = $1 AND vector_dims(embedding) = ${d} ORDER BY embedding::${half} <=> $2 LIMIT 10`);
      await client.query(`SET plan_cache_mode = force_generic_plan`);
      const aGeneric = await plan(client, `EXECUTE a_generic_${d}('c${d}', '${q}')`, []);
      await client.query(`RESET plan_cache_mode`);
      const sizes = await client.query<{ a: string; b: string }>(`SELECT pg_size_pretty(pg_relation_size('a_hnsw_${d}')) AS a, pg_size_pretty(pg_relation_size('b_hnsw_${d}')) AS b`);
      rows.push([
        String(d),
        `${((N * 1000) / aMs).toFixed(0)}`,
        `${((N * 1000) / bMs).toFixed(0)}`,
        aMatching,
        aNoPredicate,
        aGeneric,
        bPlan,
        `${sizes.rows[0]!.a} / ${sizes.rows[0]!.b}`,
      ]);
    }
    const headers = ['dims', 'A insert docs/s', 'B insert docs/s', 'A plan (expr + predicate)', 'A plan (no predicate)', 'A plan (generic)', 'B plan', 'index size A / B'];
    console.log(`| ${headers.join(' | ')} |\n| ${headers.map(() => '---').join(' | ')} |`);
    for (const r of rows) console.log(`| ${r.join(' | ')} |`);
    const tableSizes = await client.query<{ a: string; b: string }>(`SELECT pg_size_pretty(pg_table_size('a_docs')) AS a, pg_size_pretty(pg_table_size('b_docs')) AS b`);
    console.log(`\nheap + TOAST: A ${tableSizes.rows[0]!.a}, B ${tableSizes.rows[0]!.b}`);
  } finally {
    await client.end();
    await scratch.drop();
  }
}

await main();
