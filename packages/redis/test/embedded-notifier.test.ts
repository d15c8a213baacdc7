// LISTEN/NOTIFY on the embedded database (PGlite). A file of its own: starting PGlite is slow
// (WASM initdb), and jest can run it beside the other files.
import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDb } from '@cairn/db';
import { PostgresNotifier, type CairnEvent } from '@cairn/redis';

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

const saved = (threadId: string): CairnEvent => ({ type: 'checkpoint.saved', tenantId: 'default', threadId, namespace: '', checkpointId: '1' });

describe('PostgresNotifier on the embedded database', () => {
  it('delivers events through PGlite LISTEN/NOTIFY to the notifier of the process', async () => {
    // The embedded database lives in one process; one notifier there serves every component.
    // No migration: LISTEN/NOTIFY needs no tables. A generous connect timeout: PGlite answers on
    // this process' event loop, which its own WASM work keeps busy on a loaded machine.
    const db = await createDb({ embedded: { inMemory: true }, migrate: false, pool: { max: 4, connectionTimeoutMs: 60_000 } });
    const notifier = new PostgresNotifier(db);
    try {
      const received: CairnEvent[] = [];
      await notifier.forTenant('default').subscribe('embedded:*', (_c, e) => void received.push(e));
      await notifier.publish('embedded:t1', saved('t1'));
      await notifier.publish('elsewhere', saved('t2'));
      await until(() => received.length === 1);
      await sleep(50);
      expect(received).toEqual([saved('t1')]);
    } finally {
      await notifier.close();
      await db.close();
    }
  }, 90_000);
});
