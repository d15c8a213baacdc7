// Starts the demo server in-process on a free port, over a fresh PostgreSQL test database and
// (optionally) the test Redis under a key prefix of its own.
import { createTestDatabase } from '@cairn/db/testing';
import { testRedisUrl, uniqueKeyPrefix } from '@cairn/redis/testing';
import { createCairn, type Cairn } from '@cairn/cairn';
import type { z } from 'zod';
import { buildServer, listen, type DemoServer } from '../src/server.js';
import { seedDemo } from '../src/seed.js';

export interface RunningServer extends DemoServer {
  url: string;
  cairn: Cairn;
  close(): Promise<void>;
}

export async function startTestServer(options: { redis?: boolean; seed?: boolean } = {}): Promise<RunningServer> {
  const database = await createTestDatabase();
  let cairn: Cairn | undefined;
  try {
    cairn = await createCairn({
      databaseUrl: database.url,
      ...(options.redis ? { redisUrl: testRedisUrl(), redis: { keyPrefix: uniqueKeyPrefix('demo') } } : {}),
      db: { pool: { max: 6 } },
    });
    if (options.seed) await seedDemo(cairn);
    const server = await buildServer(cairn);
    const url = await listen(server.app, { host: '127.0.0.1', port: 0 });
    const opened = cairn;
    return {
      ...server,
      url,
      cairn: opened,
      async close() {
        await server.app.close();
        await opened.close();
        await database.drop();
      },
    };
  } catch (error) {
    await cairn?.close();
    await database.drop();
    throw error;
  }
}

/** An answer over HTTP: its status and JSON body, which stays unknown until a test says what it expects of it. */
export interface JsonResponse {
  status: number;
  body: unknown;
  /** The body parsed by `schema`; a body of another shape fails the test here, naming the paths that differ. */
  parse<T>(schema: z.ZodType<T>): T;
}

/** JSON over real HTTP; returns the status and the parsed body. */
export async function http(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string') init.body = body;
    else if (body instanceof Uint8Array) init.body = new Uint8Array(body);
    else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
  }
  const response = await fetch(new URL(path, base), init);
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  return { status: response.status, body: parsed, parse: (schema) => schema.parse(parsed) };
}

/** One server-sent event. */
export interface ReceivedEvent {
  event: string;
  data: unknown;
}

/** An open event stream: `until(predicate)` waits until the events received so far satisfy it. */
export interface EventStream {
  until(predicate: (events: ReceivedEvent[]) => boolean): Promise<ReceivedEvent[]>;
  close(): void;
}

/** Opens a server-sent event stream and reads it in the background. */
export async function openEventStream(url: URL | string): Promise<EventStream> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
  const events: ReceivedEvent[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  void (async () => {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) as unknown });
        }
        for (const wake of waiters) wake();
      }
    } catch {
      // Aborted by close().
    } finally {
      ended = true;
      for (const wake of waiters) wake();
    }
  })();
  return {
    until(predicate) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(events)) {
            waiters.delete(check);
            resolve([...events]);
          } else if (ended) {
            waiters.delete(check);
            reject(new Error(`the event stream ended; received: ${JSON.stringify(events)}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    close: () => controller.abort(),
  };
}
