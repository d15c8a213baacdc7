// An embedder for any server speaking OpenAI's `POST /v1/embeddings`: OpenAI itself, Azure-style
// gateways, Ollama (`http://localhost:11434/v1`), vLLM, LM Studio, text-embeddings-inference.
// Batches inputs, limits request rate and concurrency, retries 408, 429, 5xx, network errors and
// timeouts through core's withRetry (full-jitter backoff, or the wait Retry-After asks for), and
// checks every vector it gets back.
import { z } from 'zod';
import { RetryExhausted, TRANSIENT, isTransientError, parseInput, withRetry } from '@cairn/core';
import { assertEmbeddings, assertTextsNotEmpty, type Embedder, type EmbedOptions } from './embedder.js';
import { EmbeddingRequestError } from './errors.js';

const OpenAICompatibleEmbedderOptionsSchema = z
  .object({
    /** API base URL, up to and including `/v1`: 'https://api.openai.com/v1', 'http://localhost:11434/v1'. */
    baseUrl: z.url({ protocol: /^https?$/ }),
    /** Model name, e.g. 'text-embedding-3-small', 'nomic-embed-text', 'BAAI/bge-small-en-v1.5'. */
    model: z.string().min(1).max(200),
    /** Length of the vectors expected back; every response is checked against it. */
    dimensions: z.number().int().min(1).max(16_000),
    /** Sent as `Authorization: Bearer …`. Omit for local servers. */
    apiKey: z.string().min(1).optional(),
    /**
     * Send `dimensions` in the request (OpenAI text-embedding-3 shortens its vectors to it). Turn off
     * for servers or models that reject the field. @defaultValue true
     */
    sendDimensions: z.boolean().default(true),
    /** Inputs per request (OpenAI accepts up to 2048). @defaultValue 128 */
    batchSize: z.number().int().min(1).max(2048).default(128),
    /** Requests in flight at once. @defaultValue 2 */
    concurrency: z.number().int().min(1).max(64).default(2),
    /** Requests per minute at most (spaced evenly); undefined for no limit. */
    requestsPerMinute: z.number().positive().max(1_000_000).optional(),
    /** Retries after the first attempt, for 408, 429, 5xx (but 501), network errors and timeouts. @defaultValue 5 */
    maxRetries: z.number().int().min(0).max(20).default(5),
    /** First backoff in milliseconds; doubles per attempt, with full jitter. @defaultValue 500 */
    retryBaseDelayMs: z.number().int().min(0).max(60_000).default(500),
    /** Longest backoff (and longest Retry-After honoured) in milliseconds. @defaultValue 30000 */
    retryMaxDelayMs: z.number().int().min(0).max(600_000).default(30_000),
    /** Per-request timeout in milliseconds. @defaultValue 60000 */
    timeoutMs: z.number().int().min(1).max(600_000).default(60_000),
    /** `encoding_format`: 'base64' is about 4× smaller on the wire; some servers only know 'float'. @defaultValue 'float' */
    encodingFormat: z.enum(['float', 'base64']).default('float'),
    /** Extra request headers (OpenAI-Organization, api-key for Azure, …). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Text prepended to documents (some models want 'search_document: '). @defaultValue '' */
    documentPrefix: z.string().max(200).default(''),
    /** Text prepended to queries (e.g. 'search_query: ', 'query: '). @defaultValue '' */
    queryPrefix: z.string().max(200).default(''),
    /** fetch implementation (a proxy-aware one, say). @defaultValue globalThis.fetch */
    fetch: z.custom<typeof fetch>((v) => typeof v === 'function', 'must be a fetch function').optional(),
  })
  .strict();

/** Options of OpenAICompatibleEmbedder. */
export type OpenAICompatibleEmbedderOptions = z.input<typeof OpenAICompatibleEmbedderOptionsSchema>;

const ResponseSchema = z.object({
  data: z.array(z.object({ embedding: z.union([z.array(z.number()), z.string()]), index: z.number().int().min(0) })),
});

/**
 * Statuses worth another attempt: too many requests, a server error (but 501: the endpoint does
 * not exist there), and 408 (the server timed out reading the request, as our own timeout would).
 * Any other 4xx is the request's fault and fails at once.
 */
function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501);
}

/** One attempt's failure, marked transient or not for withRetry; becomes an EmbeddingRequestError at the end. */
class FailedAttempt extends Error {
  readonly [TRANSIENT]: boolean;
  constructor(
    readonly reason: string,
    readonly status: number | undefined,
    transient: boolean,
    /** What a Retry-After / retry-after-ms header asked for. */
    readonly retryAfterMs: number | undefined,
    cause?: unknown,
  ) {
    super(reason, cause === undefined ? undefined : { cause });
    this[TRANSIENT] = transient;
  }
}

/** Counters, for logs and tests. */
export interface EmbedderStats {
  requests: number;
  retries: number;
  inputs: number;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Milliseconds a Retry-After / retry-after-ms header asks for, if any. */
function retryAfterMs(headers: Headers): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Number(ms);
  const after = headers.get('retry-after');
  if (!after) return undefined;
  if (/^\d+(\.\d+)?$/.test(after)) return Number(after) * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function decodeBase64Floats(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  const floats = new Float32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 4));
  return Array.from(floats);
}

/** A short, secret-free description of an error body. */
function describeBody(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message);
    if (typeof message === 'string') return message.slice(0, 300);
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 300);
}

/**
 * Embeds through an OpenAI-compatible `/embeddings` endpoint.
 *
 * @example
 * new OpenAICompatibleEmbedder({ baseUrl: 'https://api.openai.com/v1', apiKey, model: 'text-embedding-3-small', dimensions: 384 })
 * new OpenAICompatibleEmbedder({ baseUrl: 'http://localhost:11434/v1', model: 'all-minilm', dimensions: 384, sendDimensions: false })
 */
export class OpenAICompatibleEmbedder implements Embedder {
  readonly dimensions: number;
  readonly id: string;
  readonly #opts: z.output<typeof OpenAICompatibleEmbedderOptionsSchema>;
  readonly #url: string;
  readonly #fetch: typeof fetch;
  readonly #stats: EmbedderStats = { requests: 0, retries: 0, inputs: 0 };
  #nextSlot = 0;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(options: OpenAICompatibleEmbedderOptions) {
    this.#opts = parseInput(OpenAICompatibleEmbedderOptionsSchema, options, 'OpenAICompatibleEmbedder options');
    this.dimensions = this.#opts.dimensions;
    this.#url = `${this.#opts.baseUrl.replace(/\/+$/, '')}/embeddings`;
    this.#fetch = this.#opts.fetch ?? globalThis.fetch;
    this.id = `openai-compatible:${new URL(this.#opts.baseUrl).host}:${this.#opts.model}@${this.#opts.dimensions}`;
  }

  /** Requests sent, retries made, inputs embedded. */
  stats(): EmbedderStats {
    return { ...this.#stats };
  }

  /** Keeps the API key out of logs. */
  toJSON(): Record<string, unknown> {
    return { id: this.id, baseUrl: this.#opts.baseUrl, model: this.#opts.model, dimensions: this.dimensions };
  }

  async embedDocuments(texts: readonly string[], options: EmbedOptions = {}): Promise<number[][]> {
    assertTextsNotEmpty(texts);
    const batches: string[][] = [];
    for (let i = 0; i < texts.length; i += this.#opts.batchSize) {
      batches.push(texts.slice(i, i + this.#opts.batchSize).map((t) => this.#opts.documentPrefix + t));
    }
    const results = await Promise.all(batches.map((batch) => this.#withSlot(() => this.#request(batch, options.signal), options.signal)));
    return results.flat();
  }

  async embedQuery(text: string, options: EmbedOptions = {}): Promise<number[]> {
    assertTextsNotEmpty([text], 'query');
    const [vector] = await this.#withSlot(() => this.#request([this.#opts.queryPrefix + text], options.signal), options.signal);
    return vector!;
  }

  /** Runs `work` when a concurrency slot is free (the limit counts requests, retries included). */
  async #withSlot<T>(work: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    while (this.#active >= this.#opts.concurrency) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
      if (signal?.aborted) throw signal.reason as Error;
    }
    this.#active++;
    try {
      return await work();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }

  /** Waits for the rate limiter: requests are spaced 60000 / requestsPerMinute ms apart. */
  async #rateLimit(signal: AbortSignal | undefined): Promise<void> {
    const rpm = this.#opts.requestsPerMinute;
    if (rpm === undefined) return;
    const now = performance.now();
    const slot = Math.max(now, this.#nextSlot);
    this.#nextSlot = slot + 60_000 / rpm;
    await sleep(slot - now, signal);
  }

  async #request(inputs: string[], signal: AbortSignal | undefined): Promise<number[][]> {
    const body = JSON.stringify({
      model: this.#opts.model,
      input: inputs,
      encoding_format: this.#opts.encodingFormat,
      ...(this.#opts.sendDimensions ? { dimensions: this.#opts.dimensions } : {}),
    });
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...this.#opts.headers };
    if (this.#opts.apiKey) headers['authorization'] = `Bearer ${this.#opts.apiKey}`;
    const settings = { maxAttempts: this.#opts.maxRetries + 1, initialDelayMs: this.#opts.retryBaseDelayMs, maxDelayMs: this.#opts.retryMaxDelayMs };
    // A Retry-After replaces the backoff: withRetry's wait is skipped and the next attempt waits for it instead
    // (withRetry does not call `sleep` at all when its jittered delay comes out as 0).
    let retryAfterMs: number | undefined;
    try {
      const { value } = await withRetry(
        async (attempt) => {
          if (retryAfterMs !== undefined) await sleep(Math.min(this.#opts.retryMaxDelayMs, retryAfterMs), signal);
          retryAfterMs = undefined;
          return this.#attempt(body, headers, inputs.length, attempt, signal);
        },
        settings,
        {
          isTransient: (error) => !signal?.aborted && isTransientError(error),
          onRetry: (error) => {
            this.#stats.retries++;
            retryAfterMs = error instanceof FailedAttempt ? error.retryAfterMs : undefined;
          },
          sleep: (ms) => (retryAfterMs === undefined ? sleep(ms, signal) : Promise.resolve()),
        },
      );
      return value;
    } catch (caught) {
      const { error, attempts } = caught instanceof RetryExhausted ? caught : { error: caught, attempts: 1 };
      if (!(error instanceof FailedAttempt)) throw error;
      const transient = error[TRANSIENT];
      const message = transient
        ? `Embedding request to ${this.#url} failed after ${attempts} attempt(s); last: ${error.reason}`
        : `Embedding request to ${this.#url} failed with ${error.reason}`;
      throw new EmbeddingRequestError('EMBEDDING_REQUEST_FAILED', message, { status: error.status, attempts, transient }, error.cause === undefined ? {} : { cause: error.cause });
    }
  }

  /** One request: the vectors, or a FailedAttempt (transient or not); an abort by the caller as its reason. */
  async #attempt(body: string, headers: Record<string, string>, count: number, attempt: number, signal: AbortSignal | undefined): Promise<number[][]> {
    await this.#rateLimit(signal);
    this.#stats.requests++;
    const timeout = AbortSignal.timeout(this.#opts.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(this.#url, { method: 'POST', headers, body, signal: combined });
      text = await response.text();
    } catch (cause) {
      if (signal?.aborted) throw signal.reason as Error;
      const reason = timeout.aborted ? `no answer within ${this.#opts.timeoutMs} ms` : `network error: ${(cause as Error).message}`;
      throw new FailedAttempt(reason, undefined, true, undefined, cause);
    }
    if (response.ok) return this.#parse(text, count, attempt);
    const retryable = isRetryableStatus(response.status);
    throw new FailedAttempt(`HTTP ${response.status}: ${describeBody(text)}`, response.status, retryable, retryable ? retryAfterMs(response.headers) : undefined);
  }

  #parse(text: string, count: number, attempts: number): number[][] {
    let parsed: z.output<typeof ResponseSchema>;
    try {
      parsed = ResponseSchema.parse(JSON.parse(text));
    } catch (cause) {
      throw new EmbeddingRequestError('EMBEDDING_RESPONSE_INVALID', `The embedding endpoint ${this.#url} answered with something that is not an embeddings response.`, { attempts }, { cause });
    }
    const vectors: (number[] | undefined)[] = Array.from({ length: count }, () => undefined);
    for (const item of parsed.data) {
      if (item.index >= count || vectors[item.index] !== undefined) {
        throw new EmbeddingRequestError('EMBEDDING_RESPONSE_INVALID', `The embedding endpoint returned index ${item.index} for ${count} input(s).`, { attempts });
      }
      vectors[item.index] = typeof item.embedding === 'string' ? decodeBase64Floats(item.embedding) : item.embedding;
    }
    if (vectors.some((v) => v === undefined)) {
      throw new EmbeddingRequestError('EMBEDDING_RESPONSE_INVALID', `The embedding endpoint returned ${parsed.data.length} embeddings for ${count} input(s).`, { attempts });
    }
    this.#stats.inputs += count;
    assertEmbeddings(vectors as number[][], count, this.dimensions, `Embedding model ${this.#opts.model} at ${this.#url}`);
    return vectors as number[][];
  }
}
