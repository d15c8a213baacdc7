// Every ioredis client @cairn/redis creates (the command connection, duplicates, subscribers) has an
// 'error' listener: ioredis emits some errors raw, and an 'error' event without a listener throws.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedisServer, uniqueKeyPrefix, type DisposableRedisServer } from '../src/testing.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const TSX = path.join(PACKAGE_DIR, 'node_modules', '.bin', 'tsx');

interface Report {
  uncaught: string[];
  unhandledRejections: string[];
  ioredisUnhandled: number;
  clients: { name: string; errors: number; listeners: number }[];
}

describe('when Redis dies under an active subscriber and a cache', () => {
  let server: DisposableRedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('lets no client error escape as an uncaught exception or an unhandled error event', async () => {
    const child = spawn(TSX, ['--conditions=@cairn/source', path.join(PACKAGE_DIR, 'test', 'fixtures', 'outage-child.ts'), server.url, uniqueKeyPrefix('client-errors')], {
      cwd: PACKAGE_DIR,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('ready\n')) resolve();
      });
      void exited.then(() => reject(new Error(`child exited early: ${stderr}`)));
    });
    await server.stop(); // SIGKILL: every connection drops at once, and reconnects are refused
    child.stdin.write('killed\n');
    expect(await exited).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as Report;
    expect(report.uncaught).toEqual([]);
    expect(report.unhandledRejections).toEqual([]);
    expect(report.ioredisUnhandled).toBe(0);
    expect(report.clients.map((c) => c.name)).toEqual(['command connection', 'subscriber connection']);
    for (const c of report.clients) {
      expect(c.errors).toBeGreaterThan(0); // the outage did reach every client...
      expect(c.listeners).toBeGreaterThan(0); // ...and each had a listener for it
    }
  });
});
