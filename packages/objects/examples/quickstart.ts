// The README's opening example, kept runnable: `npx tsx --conditions=@cairn/source examples/quickstart.ts`
// (DATABASE_URL points at a migrated database; without it, the embedded database is used).
import { z } from 'zod';
import { createDb } from '@cairn/db';
import { createObjectStore, SessionManager, ThreadManager, VersionConflictError } from '@cairn/objects';

const db = await createDb({ url: process.env.DATABASE_URL, migrate: true });
const store = createObjectStore(db, { tenantId: 'acme', keepVersions: 50 });

const Profile = z.object({
  name: z.string().min(1),
  plan: z.enum(['free', 'pro']),
  tags: z.array(z.string()).default([]),
  visits: z.number().int().default(0),
});
const profiles = store.collection('UserProfile', Profile);

await profiles.save('u1', { name: 'Ada', plan: 'free' }); // version 1, validated, history kept
await profiles.update('u1', (p) => {
  p.visits += 1; // read-modify-write, retried on conflicts
});
await profiles.patch('u1', [
  { op: 'test', path: '/plan', value: 'free' },
  { op: 'replace', path: '/plan', value: 'pro' },
]); // RFC 6902, all or nothing

const current = await profiles.get('u1');
console.log(current.version, current.data); // 3 { name: 'Ada', plan: 'pro', tags: [], visits: 1 }

try {
  await profiles.save('u1', { name: 'Stale', plan: 'free' }, { expectedVersion: 1 });
} catch (err) {
  if (err instanceof VersionConflictError) console.log('conflict:', err.expectedVersion, 'vs', err.actualVersion); // 1 vs 3
}

console.log((await profiles.find({ where: { plan: 'pro' } })).items.map((r) => r.id)); // ['u1']
console.log((await profiles.versions('u1')).map((v) => `${v.version}:${v.operation}`)); // ['3:patch', '2:update', '1:save']
await profiles.restore('u1', 1); // version 4 holds version 1's data again

const sessions = new SessionManager(db, { tenantId: 'acme', defaultTtlSeconds: 3600 });
const threads = new ThreadManager(db, { tenantId: 'acme' });
const session = await sessions.create({ userId: 'u1', metadata: { locale: 'en' } });
const thread = await threads.create({ userId: 'u1', sessionId: session.id, title: 'Trip planning' });
console.log((await threads.listBySession(session.id)).items.map((t) => t.title)); // ['Trip planning']
await threads.delete(thread.id); // also deletes the thread's checkpoints
await sessions.delete(session.id);

await profiles.delete('u1');
await store.close();
await db.close();
