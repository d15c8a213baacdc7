import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '@cairn/db/testing';
import { runTsx } from './helpers.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

describe('examples/resume-after-restart.ts', () => {
  it('stops at the interrupt in one process and finishes in another', async () => {
    const [started] = await runTsx('examples/resume-after-restart.ts', ['start', '--thread', 'restart-1', '--url', database.url]);
    const first = JSON.parse(started!) as { status: string; pid: number; interrupt: { question: string }; log: string[] };
    expect(first.status).toBe('interrupted');
    expect(first.interrupt.question).toBe('Publish this draft?');
    expect(first.log).toEqual([`write@${first.pid}`]);

    const [resumed] = await runTsx('examples/resume-after-restart.ts', ['resume', '--thread', 'restart-1', '--url', database.url]);
    const second = JSON.parse(resumed!) as { status: string; pid: number; waitingOn: string[]; draft: string; approved: boolean; log: string[] };
    expect(second.pid).not.toBe(first.pid);
    expect(second.waitingOn).toEqual(['review']);
    expect(second).toMatchObject({ status: 'done', approved: true, draft: 'A short note about durable agents. [published]' });
    expect(second.log).toEqual([`write@${first.pid}`, `review@${second.pid}`, `publish@${second.pid}`]);
  }, 60_000);
});
