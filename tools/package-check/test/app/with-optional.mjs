// Run in the scratch app once the optional peers are installed: everything a user does first, in
// one process, through the installed packages only.
import { createCairn } from '@cairn/cairn';
import pg from 'pg';
import { z } from 'zod';

const databaseUrl = process.env.APP_DATABASE_URL;
const report = {};

async function exercise(cairn, label) {
  const first = await cairn.checkpointer.put(`thread-${label}`, { messages: ['hi'] }, { metadata: { step: 1 } });
  await cairn.checkpointer.put(`thread-${label}`, { messages: ['hi', 'hello'] }, { parentId: first });
  const latest = await cairn.checkpointer.get(`thread-${label}`);
  const notes = cairn.objects.collection('Note', z.object({ text: z.string() }));
  await notes.save('n1', { text: `written on ${label}` });
  const note = await notes.get('n1');
  const docs = await cairn.rag.collection('trails', { dimensions: 384, metric: 'cosine' });
  await docs.upsert([
    { id: 'd1', content: 'Cairns mark trails in the mountains.' },
    { id: 'd2', content: 'Bread rises in a warm kitchen.' },
  ]);
  const hits = await docs.search('mountain trails', { k: 1 });
  return { checkpoint: latest?.state, object: note.data, topHit: hits[0]?.id };
}

// A fresh PostgreSQL database, migrated on start from the migrations @cairn/db ships.
const migrated = await createCairn({ databaseUrl, db: { migrate: true } });
report.postgres = await exercise(migrated, 'postgres');
report.postgresHealth = (await migrated.health()).status;
await migrated.close();

// The application's own pool: used, then left open by close().
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const onAppError = () => undefined;
pool.on('error', onAppError);
const ownPool = await createCairn({ db: { pool } });
report.ownPool = { checkpoint: (await ownPool.checkpointer.get('thread-postgres'))?.state };
await ownPool.close();
report.ownPool.afterClose = (await pool.query('SELECT 1 AS one')).rows[0].one;
report.ownPool.errorListeners = pool.listenerCount('error');
await pool.end();

// The embedded default: no URL at all.
const embedded = await createCairn({ db: { embedded: { dataDir: process.env.APP_DATA_DIR } } });
report.embedded = await exercise(embedded, 'embedded');
report.embeddedHealth = (await embedded.health()).postgres.embedded;
await embedded.close();

console.log(JSON.stringify(report));
