// `@cairn/redis/testing`: Redis helpers for the tests of every package that uses Redis: the shared
// server's URL, key prefixes that keep tests apart on it, and a redis-server of a test's own that
// it may stop and start (outages) without touching the shared one.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@cairn/db/testing';
import type { RedisConnection } from './connection.js';
import { parseRedisUrl } from './redis-url.js';

/** The Redis the tests use (REDIS_URL, else the local server). */
export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/**
 * Whether the tests run against a Redis Cluster (REDIS_URL in a cluster form: `redis+cluster://…`
 * or several comma-separated nodes), as the cluster run of the suites does (scripts/redis-cluster.sh).
 */
export function testRedisIsCluster(): boolean {
  const parsed = parseRedisUrl(testRedisUrl());
  return typeof parsed === 'object';
}

/** Keys matching `pattern` on every master (a cluster spreads a prefix's keys over its slots). */
export async function scanKeys(redis: RedisConnection, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of redis.scanTargets()) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}

/** A key prefix no other test uses, so tests share one Redis without seeing each other's keys. */
export function uniqueKeyPrefix(label = 'test'): string {
  return `cairn-test:${label}:${randomUUID()}:`;
}

/** A redis-server of the test's own, which it can stop and start again (the shared one must stay up). */
export interface DisposableRedisServer {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** Starts `redis-server` on a free loopback port, with no persistence. Stop it in afterAll. */
export async function startRedisServer(): Promise<DisposableRedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child) return;
    const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) {
          proc.stdout?.off('data', onData);
          proc.stdout?.resume();
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
      proc.once('error', reject);
    });
  };
  const stop = async () => {
    const proc = child;
    if (!proc) return;
    child = undefined;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    // Removing the directory is best effort; it holds nothing (no persistence).
    ...{ [Symbol.asyncDispose]: async () => { await stop(); await rm(dir, { recursive: true, force: true }); } },
  };
}
