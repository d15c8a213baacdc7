// A real HTTP server implementing OpenAI's `POST /v1/embeddings`, standing in for the paid API in
// tests. Vectors come from LocalHashEmbedder; failures, delays and odd answers can be scripted.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalHashEmbedder } from '../src/index.js';

/** What to do with one incoming request instead of answering normally. */
export type ScriptedReply =
  | { status: number; headers?: Record<string, string>; body?: string }
  | { destroy: true }
  | { delayMs: number }
  | { raw: string };

export interface RecordedRequest {
  at: number;
  authorization: string | undefined;
  body: { model: string; input: string[]; dimensions?: number; encoding_format?: string };
}

export interface EmbeddingsServer {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** Replies used, in order, for the next requests (then normal answers resume). */
  script(...replies: ScriptedReply[]): void;
  /** Answer with vectors of this many dimensions whatever the request says. */
  forceDimensions(dimensions: number | undefined): void;
  /** Most requests in flight at once so far. */
  maxInFlight(): number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startEmbeddingsServer(options: { apiKey?: string; latencyMs?: number } = {}): Promise<EmbeddingsServer> {
  const requests: RecordedRequest[] = [];
  const scripted: ScriptedReply[] = [];
  let forced: number | undefined;
  let inFlight = 0;
  let maxInFlight = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      const text = await readBody(req);
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found' } }));
        return;
      }
      const body = JSON.parse(text) as RecordedRequest['body'];
      requests.push({ at: performance.now(), authorization: req.headers.authorization, body });
      let reply = scripted.shift();
      if (reply && 'delayMs' in reply) {
        await new Promise((r) => setTimeout(r, reply && 'delayMs' in reply ? reply.delayMs : 0));
        reply = undefined;
      } else if (options.latencyMs) {
        await new Promise((r) => setTimeout(r, options.latencyMs));
      }
      if (reply && 'destroy' in reply) {
        req.socket.destroy();
        return;
      }
      if (reply && 'raw' in reply) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(reply.raw);
        return;
      }
      if (reply && 'status' in reply) {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(reply.body ?? JSON.stringify({ error: { message: `scripted ${reply.status}` } }));
        return;
      }
      if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'Incorrect API key provided' } }));
        return;
      }
      const embedder = new LocalHashEmbedder({ dimensions: forced ?? body.dimensions ?? 384 });
      const data = body.input.map((input, index) => {
        const vector = embedder.embedSync(input);
        const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
        return { object: 'embedding', index, embedding };
      });
      // Answer out of order: clients must place vectors by `index`.
      data.reverse();
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 0, total_tokens: 0 } }));
    } finally {
      inFlight--;
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...replies) => scripted.push(...replies),
    forceDimensions: (d) => {
      forced = d;
    },
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
