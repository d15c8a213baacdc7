// Benchmark: MessageStore's append and list against hand-written node-postgres statements on the
// same tables, in the same process, interleaved in rounds. The baseline does what an application
// would write by hand for the same guarantees: the thread's counter advanced under its row lock and
// the message inserted at that position, idempotent by id, in one statement; a page read newest
// first. Entry point: reads BENCH_ADMIN_URL, BENCH_N (ops per side, default 4000), BENCH_ROUNDS.
import { adminUrlFromEnv, compareInterleaved, describeMachine, envInteger, printTable, scratchDatabase } from '@cairn/bench-kit';
import { createDb } from '@cairn/db';
import { MessageStore, ThreadManager } from '../src/index.js';

const n = envInteger('BENCH_N', 4000);
const rounds = envInteger('BENCH_ROUNDS', 8);

const scratch = await scratchDatabase({ adminUrl: adminUrlFromEnv(), prefix: 'cairn_bench_messages' });
const db = await createDb({ url: scratch.url, migrate: true, pool: { max: 4 } });
try {
  const threads = new ThreadManager(db);
  const messages = new MessageStore(db);
  for (const id of ['ours', 'raw', 'ours-list', 'raw-list']) await threads.create({ userId: 'bench', id });
  const text = (i: number) => `Message ${i}: what the user asked and what the assistant answered, about two hundred characters of chat text, the size of a typical turn. ${'x'.repeat(60)}`;
  const parts = (i: number) => [{ type: 'text', text: text(i) }];

  const rawAppend = (thread: string, i: number) =>
    db.pool.query({
      name: 'raw_message_append',
      text: `WITH bump AS (UPDATE threads SET message_seq = message_seq + 1, updated_at = $4 WHERE tenant_id = $1 AND id = $2 RETURNING message_seq)
        INSERT INTO messages (tenant_id, thread_id, id, seq, role, parts, content, metadata, created_at, updated_at)
        SELECT $1, $2, $3, b.message_seq, $5, $6::jsonb, $7, '{}', $4, $4 FROM bump b
        ON CONFLICT (tenant_id, thread_id, id) DO NOTHING
        RETURNING tenant_id, thread_id, id, seq, role, parts, content, metadata, created_at, updated_at`,
      values: ['default', thread, `m${i}`, new Date(), 'user', JSON.stringify(parts(i)), text(i)],
    });
  const rawList = (thread: string) =>
    db.pool.query({
      name: 'raw_message_list',
      text: `SELECT tenant_id, thread_id, id, seq, role, parts, content, metadata, created_at, updated_at
        FROM messages WHERE tenant_id = $1 AND thread_id = $2 ORDER BY seq DESC LIMIT 50`,
      values: ['default', thread],
    });

  const append = await compareInterleaved(
    {
      ours: (i) => messages.append('ours', [{ id: `m${i}`, role: 'user', parts: parts(i), content: text(i) }]),
      raw: (i) => rawAppend('raw', i),
    },
    { ops: n, rounds, warmup: { calls: 200, from: 1_000_000 } },
  );
  // The list threads hold 1000 messages each, written through the same paths.
  for (let i = 0; i < 1000; i += 100) {
    await messages.append('ours-list', Array.from({ length: 100 }, (_, j) => ({ id: `m${i + j}`, role: 'user' as const, parts: parts(i + j), content: text(i + j) })));
    for (let j = 0; j < 100; j++) await rawAppend('raw-list', i + j);
  }
  await db.pool.query('ANALYZE messages, threads');
  const list = await compareInterleaved(
    { ours: () => messages.list('ours-list', { order: 'desc', limit: 50 }), raw: () => rawList('raw-list') },
    { ops: n, rounds, warmup: { calls: 200 } },
  );

  console.log(`\n@cairn/objects messages bench: ${n} ops per side in ${rounds} interleaved rounds; ${describeMachine()}\n`);
  const row = (name: string, r: typeof append) => [
    name,
    r.ours.opsPerSec.toFixed(0),
    r.ours.p50.toFixed(3),
    r.ours.p99.toFixed(3),
    r.raw.opsPerSec.toFixed(0),
    r.raw.p50.toFixed(3),
    r.raw.p99.toFixed(3),
    `${(r.raw.opsPerSec / r.ours.opsPerSec).toFixed(2)}×`,
  ];
  printTable(
    ['operation', 'MessageStore ops/s', 'p50 ms', 'p99 ms', 'hand-written pg ops/s', 'p50 ms', 'p99 ms', 'time ratio (ours / pg)'],
    [row('append 1 message (~200 chars)', append), row('list(50), newest first, of 1000', list)],
  );
} finally {
  await db.close();
  await scratch.drop();
}
