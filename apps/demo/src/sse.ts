// Server-sent events: one open stream per browser tab, written to the raw socket (Fastify hands
// the response over with hijack()). The hub tracks every stream so the server can end them on
// close; an open stream would otherwise keep `app.close()` waiting forever.
import type { FastifyReply, FastifyRequest } from 'fastify';

/** One open event stream. */
export interface SseStream {
  /** Sends one event; `data` is JSON-encoded. Returns false once the stream is closed. */
  send(event: string, data: unknown, id?: string): boolean;
  /** Resolves when the client goes away or the server ends the stream. */
  readonly closed: Promise<void>;
  close(): void;
}

/** Keeps the open streams and their heartbeats. */
export class SseHub {
  readonly #streams = new Set<SseStream>();
  readonly #heartbeatMs: number;

  constructor(options: { heartbeatMs?: number } = {}) {
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
  }

  get size(): number {
    return this.#streams.size;
  }

  /** Takes over the response and opens a stream on it. */
  open(request: FastifyRequest, reply: FastifyReply): SseStream {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies (nginx) must not buffer the stream.
      'x-accel-buffering': 'no',
    });
    // Tell EventSource how long to wait before reconnecting, and flush the headers now.
    raw.write('retry: 2000\n\n');
    let open = true;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
    // A comment line every few seconds keeps idle connections from being cut by proxies.
    const heartbeat = setInterval(() => {
      if (open) raw.write(': keep-alive\n\n');
    }, this.#heartbeatMs);
    heartbeat.unref();
    const stream: SseStream = {
      send: (event, data, id) => {
        if (!open) return false;
        const lines = [`event: ${event}`, ...(id ? [`id: ${id}`] : []), `data: ${JSON.stringify(data)}`];
        raw.write(`${lines.join('\n')}\n\n`);
        return true;
      },
      closed,
      close: () => finish(true),
    };
    const finish = (endResponse: boolean) => {
      if (!open) return;
      open = false;
      clearInterval(heartbeat);
      this.#streams.delete(stream);
      if (endResponse && !raw.writableEnded) raw.end();
      resolveClosed();
    };
    request.raw.on('close', () => finish(false));
    raw.on('close', () => finish(false));
    this.#streams.add(stream);
    return stream;
  }

  /** Ends every open stream (server shutdown). */
  closeAll(): void {
    for (const stream of [...this.#streams]) stream.close();
  }
}
