// LangGraph JS checkpoint saver on a Cairn Checkpointer: a StateGraph compiled with
// `checkpointer: new CairnSaver(...)` persists to PostgreSQL (or memory) through Cairn, with its
// retention, metrics, retries and export. LangGraph checkpoints are stored with LangGraph's own
// serde (format `langgraph:<type>`), so everything LangGraph puts (messages, Sends, interrupts)
// round-trips exactly as with its own savers.
import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  TASKS,
  WRITES_IDX_MAP,
  copyCheckpoint,
  maxChannelVersion,
  type ChannelVersions,
  type Checkpoint as LangGraphCheckpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  type DeltaChannelHistory,
  type PendingWrite as LangGraphPendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import { SerializationError, ValidationError, parseInput } from '@cairn/core';
import { z } from 'zod';
import { CheckpointNotFoundError } from './errors.js';
import { PostgresCheckpointer, type PostgresCheckpointerOptions } from './postgres-checkpointer.js';
import type { EncodedValue, Metadata, RawCheckpoint } from './types.js';
import type { WriteInput } from './schemas.js';
import type { Checkpointer } from './contract.js';
import type { DbOptions } from '@cairn/db';

const FORMAT_PREFIX = 'langgraph:';

interface Target {
  threadId: string;
  namespace: string;
  checkpointId: string | undefined;
}

// The part of a RunnableConfig the saver reads; other configurable keys pass through untouched.
const ConfigurableSchema = z.looseObject({
  thread_id: z.union([z.string(), z.number()]).nullish(),
  checkpoint_ns: z.string().nullish(),
  checkpoint_id: z.string().nullish(),
});

function target(config: RunnableConfig): Target | undefined {
  const c = parseInput(ConfigurableSchema, config.configurable ?? {}, 'LangGraph config (configurable)');
  if (c.thread_id === undefined || c.thread_id === null || c.thread_id === '') return undefined;
  return { threadId: String(c.thread_id), namespace: c.checkpoint_ns ?? '', checkpointId: c.checkpoint_id || undefined };
}

function requireTarget(config: RunnableConfig, what: string): Target {
  const t = target(config);
  if (!t) {
    throw new ValidationError('LangGraph config', [
      {
        path: 'configurable.thread_id',
        message: `is required to ${what}: pass { configurable: { thread_id } } so the checkpointer knows which thread to persist`,
      },
    ]);
  }
  return t;
}

// jsonb cannot hold NUL characters; LangGraph's Postgres saver drops them from metadata too.
function stripNul(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? value.replaceAll('\u0000', '') : value;
}

/**
 * A LangGraph `BaseCheckpointSaver` backed by a Cairn Checkpointer. Passes the official
 * `@langchain/langgraph-checkpoint-validation` suite.
 *
 * @example
 * const saver = new CairnSaver(new PostgresCheckpointer(db));
 * const graph = builder.compile({ checkpointer: saver });
 */
export class CairnSaver extends BaseCheckpointSaver {
  /** The Cairn checkpointer the saver stores through (use it for retention, export, metrics). */
  readonly checkpointer: Checkpointer;
  readonly #ownsCheckpointer: boolean;

  constructor(checkpointer: Checkpointer, serde?: SerializerProtocol, options: { ownsCheckpointer?: boolean } = {}) {
    super(serde);
    this.checkpointer = checkpointer;
    this.#ownsCheckpointer = options.ownsCheckpointer ?? false;
  }

  /** A saver on its own PostgresCheckpointer (closed by `close()`). */
  static async fromUrl(url: string, options: PostgresCheckpointerOptions & { db?: Omit<DbOptions, 'url'>; serde?: SerializerProtocol } = {}): Promise<CairnSaver> {
    const { serde, ...rest } = options;
    return new CairnSaver(await PostgresCheckpointer.fromUrl(url, rest), serde, { ownsCheckpointer: true });
  }

  async #load(value: EncodedValue): Promise<unknown> {
    if (!value.format.startsWith(FORMAT_PREFIX)) {
      // A checkpoint written through the Cairn API in the same thread: readable with Cairn's serializer.
      return this.checkpointer.decode(value);
    }
    return this.serde.loadsTyped(value.format.slice(FORMAT_PREFIX.length), value.data);
  }

  async #dump(value: unknown): Promise<EncodedValue> {
    const [type, data] = await this.serde.dumpsTyped(value);
    return { format: `${FORMAT_PREFIX}${type}`, data };
  }

  async #toTuple(raw: RawCheckpoint): Promise<CheckpointTuple> {
    const checkpoint = (await this.#load(raw.state)) as LangGraphCheckpoint;
    if (typeof checkpoint !== 'object' || checkpoint === null || typeof checkpoint.id !== 'string') {
      throw new SerializationError(`Checkpoint ${raw.checkpointId} of thread ${JSON.stringify(raw.threadId)} is not a LangGraph checkpoint`);
    }
    if (checkpoint.v < 4 && raw.parentId !== null) await this.#migratePendingSends(checkpoint, raw);
    const pendingWrites: CheckpointPendingWrite[] = await Promise.all(
      raw.pendingWrites.map(async (w): Promise<CheckpointPendingWrite> => [w.taskId, w.channel, await this.#load(w.value)]),
    );
    const configurable = { thread_id: raw.threadId, checkpoint_ns: raw.namespace, checkpoint_id: raw.checkpointId };
    const tuple: CheckpointTuple = {
      config: { configurable },
      checkpoint,
      metadata: (await this.serde.loadsTyped('json', JSON.stringify(raw.metadata))) as CheckpointMetadata,
      pendingWrites,
    };
    if (raw.parentId !== null) tuple.parentConfig = { configurable: { ...configurable, checkpoint_id: raw.parentId } };
    return tuple;
  }

  /** Checkpoints before format v4 kept pending Sends as writes of their parent; move them into the TASKS channel. */
  async #migratePendingSends(checkpoint: LangGraphCheckpoint, raw: RawCheckpoint): Promise<void> {
    const parent = await this.checkpointer.getRaw(raw.threadId, raw.parentId!, { namespace: raw.namespace });
    const sends = await Promise.all((parent?.pendingWrites ?? []).filter((w) => w.channel === TASKS).map((w) => this.#load(w.value)));
    checkpoint.channel_values ??= {};
    checkpoint.channel_values[TASKS] = sends;
    checkpoint.channel_versions ??= {};
    const versions = Object.values(checkpoint.channel_versions);
    checkpoint.channel_versions[TASKS] = versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const t = target(config);
    if (!t) return undefined;
    const raw = await this.checkpointer.getRaw(t.threadId, t.checkpointId, { namespace: t.namespace });
    return raw && this.#toTuple(raw);
  }

  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const t = target(config);
    const ns = config.configurable?.checkpoint_ns as string | undefined;
    const before = options.before?.configurable?.checkpoint_id as string | undefined;
    const filter = options.filter === undefined ? undefined : (JSON.parse(JSON.stringify(options.filter), stripNul) as Metadata);
    if (options.limit !== undefined && options.limit <= 0) return;
    for await (const raw of this.checkpointer.listRaw({
      ...(t ? { threadId: t.threadId } : {}),
      ...(ns !== undefined ? { namespace: ns } : {}),
      ...(t?.checkpointId ? { checkpointId: t.checkpointId } : {}),
      ...(before ? { before } : {}),
      ...(filter && Object.keys(filter).length > 0 ? { metadata: filter } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
    })) {
      yield await this.#toTuple(raw);
    }
  }

  async put(config: RunnableConfig, checkpoint: LangGraphCheckpoint, metadata: CheckpointMetadata, newVersions: ChannelVersions): Promise<RunnableConfig> {
    const t = requireTarget(config, 'put a checkpoint');
    const stored = copyCheckpoint(checkpoint);
    // LangGraph passes every channel's value; a channel reported in `newVersions` was written at
    // this step, the others carry over from the parent. A root checkpoint has no parent to carry
    // from, so only its new channels are part of it (the contract of LangGraph's savers).
    if (t.checkpointId === undefined) {
      stored.channel_values = Object.fromEntries(Object.entries(stored.channel_values).filter(([channel]) => channel in newVersions));
    }
    const [state, metadataBytes] = await Promise.all([this.#dump(stored), this.serde.dumpsTyped(metadata)]);
    const meta = JSON.parse(new TextDecoder().decode(metadataBytes[1]), stripNul) as Metadata;
    const step = typeof metadata.step === 'number' && Number.isInteger(metadata.step) ? metadata.step : undefined;
    await this.checkpointer.putRaw(
      [{ threadId: t.threadId, namespace: t.namespace, checkpointId: checkpoint.id, parentId: t.checkpointId ?? null, step, metadata: meta, state }],
      // LangGraph may save a checkpoint again under the same id, and its parent may not be saved
      // (durability "exit"), as its own savers allow.
      { ifExists: 'replace', requireParent: false },
    );
    return { configurable: { thread_id: t.threadId, checkpoint_ns: t.namespace, checkpoint_id: checkpoint.id } };
  }

  async putWrites(config: RunnableConfig, writes: LangGraphPendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    const t = requireTarget(config, 'put writes');
    if (t.checkpointId === undefined) {
      throw new ValidationError('LangGraph config', [{ path: 'configurable.checkpoint_id', message: 'is required to put writes' }]);
    }
    // Special channels (errors, interrupts, ...) have fixed negative indexes and are overwritten;
    // regular writes of a task are kept as first stored (a retried task writes the same).
    const special = writes.every(([channel]) => channel in WRITES_IDX_MAP);
    const byIdx = new Map<number, WriteInput<EncodedValue>>();
    const encoded = await Promise.all(writes.map(([, value]) => this.#dump(value)));
    writes.forEach(([channel], i) => {
      const idx = WRITES_IDX_MAP[channel] ?? i;
      if (special || !byIdx.has(idx)) byIdx.set(idx, { taskId, taskPath: taskPath ?? '', idx, channel, value: encoded[i]! });
    });
    await this.checkpointer.putWritesRaw(t.threadId, t.checkpointId, [...byIdx.values()], {
      namespace: t.namespace,
      onConflict: special ? 'upsert' : 'ignore',
      // LangGraph stores a task's writes while the checkpoint's own put may still be in flight.
      requireCheckpoint: false,
    });
  }

  /**
   * The base class walks ancestors one `getTuple` (one query) at a time; this reads the parent
   * chain a page of checkpoints per query, with the same result (see the base class's contract).
   */
  override async getDeltaChannelHistory(options: { config: RunnableConfig; channels: string[] }): Promise<Record<string, DeltaChannelHistory>> {
    const { config, channels } = options;
    if (channels.length === 0) return {};
    const t = target(config);
    const collected = new Map<string, CheckpointPendingWrite[]>(channels.map((ch) => [ch, []]));
    const seeds = new Map<string, unknown>();
    const remaining = new Set(channels);
    if (t) {
      const page = async (id: string | undefined, limit: number) =>
        this.checkpointer.historyRaw(t.threadId, id, { namespace: t.namespace, limit }).catch((error: unknown) => {
          if (error instanceof CheckpointNotFoundError) return [];
          throw error;
        });
      // The target itself is not part of its history: start with its parent.
      let chain = (await page(t.checkpointId, 33)).slice(1);
      while (chain.length > 0 && remaining.size > 0) {
        for (const raw of chain) {
          if (remaining.size === 0) break;
          const tuple = await this.#toTuple(raw);
          const perChannel = new Map<string, CheckpointPendingWrite[]>();
          for (const write of tuple.pendingWrites ?? []) {
            if (remaining.has(write[1])) perChannel.set(write[1], [...(perChannel.get(write[1]) ?? []), write]);
          }
          for (const [ch, block] of perChannel) collected.get(ch)!.push(...block.reverse());
          for (const ch of [...remaining]) {
            if (Object.prototype.hasOwnProperty.call(tuple.checkpoint.channel_values, ch)) {
              seeds.set(ch, tuple.checkpoint.channel_values[ch]);
              remaining.delete(ch);
            }
          }
        }
        const last = chain.at(-1)!;
        chain = last.parentId === null || remaining.size === 0 ? [] : await page(last.parentId, 32);
      }
    }
    const result: Record<string, DeltaChannelHistory> = {};
    for (const ch of channels) {
      const entry: DeltaChannelHistory = { writes: collected.get(ch)!.slice().reverse() };
      if (seeds.has(ch)) entry.seed = seeds.get(ch);
      result[ch] = entry;
    }
    return result;
  }

  async deleteThread(threadId: string): Promise<void> {
    await this.checkpointer.deleteThread(String(threadId));
  }

  /** Closes the checkpointer if the saver created it (`fromUrl`). */
  async close(): Promise<void> {
    if (this.#ownsCheckpointer) await this.checkpointer.close();
  }
}
