// Threads as JSONL: one header line, then one line per checkpoint (oldest first), states and write
// values as base64 of their serialized bytes with their format. Works between any two
// checkpointers (memory → PostgreSQL is the migration path) without decoding states.
import { parseInput } from '@cairn/core';
import { z } from 'zod';
import { ConflictError, ImportFormatError } from './errors.js';
import { IdSchema } from './schemas.js';
import type { RawCheckpoint } from './types.js';
import type { RawPutItem } from './schemas.js';
import type { Checkpointer } from './contract.js';

const FORMAT = 'cairn-checkpoints';
const VERSION = 1;

const EncodedLine = z.object({ format: z.string().min(1), data: z.base64() });
const CheckpointLine = z.object({
  type: z.literal('checkpoint'),
  threadId: z.string(),
  namespace: z.string(),
  checkpointId: z.string(),
  parentId: z.string().nullable(),
  step: z.number().int(),
  createdAt: z.iso.datetime({ offset: true }),
  metadata: z.record(z.string(), z.unknown()),
  state: EncodedLine,
  pendingWrites: z.array(z.object({ taskId: z.string(), taskPath: z.string(), idx: z.number().int(), channel: z.string(), value: EncodedLine })),
});
const HeaderLine = z.object({ type: z.literal(FORMAT), version: z.literal(VERSION) });

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function toLine(raw: RawCheckpoint): string {
  return JSON.stringify({
    type: 'checkpoint',
    threadId: raw.threadId,
    namespace: raw.namespace,
    checkpointId: raw.checkpointId,
    parentId: raw.parentId,
    step: raw.step,
    createdAt: raw.createdAt.toISOString(),
    metadata: raw.metadata,
    state: { format: raw.state.format, data: b64(raw.state.data) },
    pendingWrites: raw.pendingWrites.map((w) => ({ ...w, value: { format: w.value.format, data: b64(w.value.data) } })),
  });
}

/**
 * Streams threads as JSONL lines (each without the trailing newline; join with '\n' or pipe through
 * `Readable.from(...)` adding one). With no thread ids, exports every thread of the tenant.
 */
export async function* exportThreads(source: Checkpointer, threadIds?: readonly string[]): AsyncGenerator<string> {
  const ids = threadIds ? parseInput(z.array(IdSchema), threadIds, 'thread ids') : undefined;
  yield JSON.stringify({ type: FORMAT, version: VERSION, tenantId: source.tenantId, exportedAt: new Date().toISOString() });
  const exportOne = async function* (threadId: string) {
    for await (const raw of source.listRaw({ threadId, order: 'asc' })) yield toLine(raw);
  };
  if (ids) {
    for (const id of ids) yield* exportOne(id);
    return;
  }
  let after: string | undefined;
  for (;;) {
    const page = await source.listThreadIds({ after, limit: 500 });
    for (const id of page) yield* exportOne(id);
    if (page.length < 500) return;
    after = page[page.length - 1];
  }
}

/** Options of importThreads. */
export interface ImportOptions {
  /** A checkpoint id that already exists in the target: fail (nothing of that batch written), skip it, or overwrite it. @defaultValue 'error' */
  onConflict?: 'error' | 'skip' | 'replace';
  /** Import threads under other ids: `{ oldId: newId }`. */
  renameThreads?: Record<string, string>;
  /** Checkpoints per write (each batch is atomic). @defaultValue 200 */
  batchSize?: number;
}

/** What an import wrote. */
export interface ImportSummary {
  threads: number;
  checkpoints: number;
  writes: number;
}

const ImportOptionsSchema = z
  .object({
    onConflict: z.enum(['error', 'skip', 'replace']).default('error'),
    renameThreads: z.record(IdSchema, IdSchema).default({}),
    batchSize: z.number().int().min(1).max(10_000).default(200),
  })
  .strict();

async function* lines(input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): AsyncGenerator<string> {
  let pending = '';
  const decoder = new TextDecoder();
  for await (const chunk of input as AsyncIterable<string | Uint8Array>) {
    pending += typeof chunk === 'string' ? `${chunk}\n` : decoder.decode(chunk, { stream: true });
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) if (part.trim() !== '') yield part;
  }
  pending += decoder.decode();
  if (pending.trim() !== '') yield pending;
}

/**
 * Imports a JSONL export. `input` may be the lines from exportThreads (strings, one line each) or
 * a byte stream such as `fs.createReadStream(file)`. Checkpoints keep their ids, parents, steps,
 * metadata and creation times; batches are written atomically in order.
 */
export async function importThreads(
  target: Checkpointer,
  input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const opts = parseInput(ImportOptionsSchema, options, 'import options');
  const summary: ImportSummary = { threads: 0, checkpoints: 0, writes: 0 };
  const threads = new Set<string>();
  let batch: RawPutItem[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    let items = batch;
    batch = [];
    if (opts.onConflict === 'skip') {
      const present = await Promise.all(items.map((i) => target.getRaw(i.threadId, i.checkpointId, { namespace: i.namespace ?? '' })));
      items = items.filter((_, k) => present[k] === undefined);
    }
    if (items.length === 0) return;
    try {
      await target.putRaw(items, { ifExists: opts.onConflict === 'replace' ? 'replace' : 'error', requireParent: false });
    } catch (error) {
      if (error instanceof ConflictError) throw new ConflictError(`Import stopped: ${error.message} (use onConflict 'skip' or 'replace')`, { cause: error, details: error.details });
      throw error;
    }
    for (const item of items) {
      threads.add(item.threadId);
      summary.checkpoints += 1;
      summary.writes += item.pendingWrites?.length ?? 0;
    }
  };
  let lineNo = 0;
  for await (const text of lines(input)) {
    lineNo += 1;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new ImportFormatError(lineNo, 'not valid JSON', { cause });
    }
    if (lineNo === 1) {
      if (!HeaderLine.safeParse(json).success) throw new ImportFormatError(lineNo, `expected a ${FORMAT} v${VERSION} header`);
      continue;
    }
    const parsed = CheckpointLine.safeParse(json);
    if (!parsed.success) throw new ImportFormatError(lineNo, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '), { cause: parsed.error });
    const line = parsed.data;
    const threadId = opts.renameThreads[line.threadId] ?? line.threadId;
    batch.push({
      threadId,
      namespace: line.namespace,
      checkpointId: line.checkpointId,
      parentId: line.parentId,
      step: line.step,
      createdAt: new Date(line.createdAt),
      metadata: line.metadata as RawPutItem['metadata'],
      state: { format: line.state.format, data: Buffer.from(line.state.data, 'base64') },
      pendingWrites: line.pendingWrites.map((w) => ({ ...w, value: { format: w.value.format, data: Buffer.from(w.value.data, 'base64') } })),
    });
    if (batch.length >= opts.batchSize) await flush();
  }
  if (lineNo === 0) throw new ImportFormatError(0, 'the stream is empty');
  await flush();
  summary.threads = threads.size;
  return summary;
}
