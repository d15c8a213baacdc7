// Messages: a thread's conversation, in order. An append takes its positions from a counter on the
// thread's row (threads.message_seq) in the statement that inserts the messages: the UPDATE locks
// that row, so concurrent appends to one thread queue there, positions are unique and follow commit
// order, and a reader paging by position never meets a gap that a slower append fills in later.
// Message ids are the caller's (the AI SDK generates them) and an append is idempotent by id, so a
// retried or repeated save stores nothing twice (it still advances the counter: positions are
// unique and ordered, not dense). Messages go with their thread (ON DELETE CASCADE
// from threads, whose one owner is ThreadManager).
import { z } from 'zod';
import { IdSchema, JsonObjectSchema, TenantIdSchema, TextSchema, parseInput, type JsonObject } from '@cairn/core';
import type { CairnDb, ColumnName, Row } from '@cairn/db';
import { v7 as uuidv7 } from 'uuid';
import { MessageNotFoundError, ThreadNotFoundError } from './errors.js';
import { clientExecutor, poolExecutor, type Executor } from './executor.js';
import { MetadataInputSchema } from './json.js';
import { metadataForWrite, metadataFromRow } from './metadata.js';

/** Who wrote a message: the roles of the AI SDK's UIMessage, and `tool` for tool results of model messages. */
export const MessageRoleSchema = z.enum(['system', 'user', 'assistant', 'tool']);
/** A message's role. */
export type MessageRole = z.infer<typeof MessageRoleSchema>;

/** A message as stored. */
export interface MessageRecord<M extends JsonObject = JsonObject> {
  readonly tenantId: string;
  readonly threadId: string;
  readonly id: string;
  /** Position in the thread: unique, increasing in the order appends committed (not necessarily dense). */
  readonly seq: number;
  readonly role: MessageRole;
  /** The parts as given (text, reasoning, tool calls, files, sources, data parts): JSON objects with a `type`. */
  readonly parts: JsonObject[];
  /** The text of the message: as given, or its `text` parts joined by blank lines. */
  readonly content: string;
  readonly metadata: M;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A message to append. */
export interface MessageInput<M extends JsonObject = JsonObject> {
  /** Your id (the AI SDK's message id); a UUIDv7 is generated when absent. Unique within the thread. */
  id?: string;
  role: MessageRole;
  /** The message's parts. @defaultValue `[{ type: 'text', text: content }]` when `content` is given, else `[]` */
  parts?: JsonObject[];
  /** The message's text. @defaultValue the `text` parts' text joined by blank lines */
  content?: string;
  metadata?: M;
  /** When it was written (an import keeps the original time). @defaultValue now */
  createdAt?: Date;
}

/** Changes to a stored message (an edited message); its position and id stay. */
export interface MessageChanges<M extends JsonObject = JsonObject> {
  role?: MessageRole;
  /** New parts; `content` follows them unless given too. */
  parts?: JsonObject[];
  content?: string;
  metadata?: M;
}

/** What applyChanges() does, in one transaction: edits, then a truncation, then appends. */
export interface MessageChangeSet<M extends JsonObject = JsonObject> {
  /** Stored messages to edit in place. */
  update?: ReadonlyArray<{ id: string; changes: MessageChanges<M> }>;
  /** Deletes this message and every message after it. */
  deleteFrom?: string;
  /** Appended after the rest, as append() does. */
  append?: readonly MessageInput<M>[];
}

/** What applyChanges() did. */
export interface MessageChangeResult<M extends JsonObject = JsonObject> {
  updated: MessageRecord<M>[];
  deleted: number;
  appended: MessageRecord<M>[];
}

/** Options of list(). */
export interface MessageListOptions {
  /** At most this many. @defaultValue 50 */
  limit?: number;
  /** Only messages before this one (by position). */
  before?: string;
  /** Only messages after this one (by position). */
  after?: string;
  /** 'asc': oldest first, as a chat shows them; 'desc': newest first (the recent window). @defaultValue 'asc' */
  order?: 'asc' | 'desc';
}

export const MessageStoreOptionsSchema = z
  .object({
    /** Tenant every query is scoped to. @defaultValue 'default' */
    tenantId: TenantIdSchema.default('default'),
    /** Validates message metadata on write and read (e.g. the AI SDK's messageMetadataSchema). @defaultValue any JSON object */
    metadataSchema: z.custom<z.ZodType<JsonObject>>((v) => typeof v === 'object' && v !== null && 'safeParse' in v, 'must be a zod schema').optional(),
  })
  .strict();

/** Options of MessageStore. */
export type MessageStoreOptions<M extends JsonObject = JsonObject> = Omit<z.input<typeof MessageStoreOptionsSchema>, 'metadataSchema'> & {
  metadataSchema?: z.ZodType<M>;
};

/** Messages per append call. */
export const MAX_MESSAGES_PER_APPEND = 1000;

/** A part: a JSON object (core's JSON rule, as metadata) with a non-empty string `type`. */
const PartSchema = MetadataInputSchema.superRefine((part, ctx) => {
  const type = (part as { type?: unknown }).type;
  if (typeof type !== 'string' || type.length === 0 || type.length > 200) ctx.addIssue({ code: 'custom', path: ['type'], message: 'must be a string of 1 to 200 characters' });
});
const PartsSchema = z.array(PartSchema).max(10_000);

const MessageInputSchema = z
  .object({
    id: IdSchema.optional(),
    role: MessageRoleSchema,
    parts: PartsSchema.optional(),
    content: TextSchema.optional(),
    metadata: MetadataInputSchema.optional(),
    createdAt: z.date().refine((d) => !Number.isNaN(d.getTime()), 'must be a valid date').optional(),
  })
  .strict();

const messagesSchema = (max: number) =>
  z
    .array(MessageInputSchema)
    .max(max, `at most ${max} messages per call`)
    .superRefine((messages, ctx) => {
      const seen = new Set<string>();
      messages.forEach((m, i) => {
        if (m.id === undefined) return;
        if (seen.has(m.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: 'appears twice in one append' });
        seen.add(m.id);
      });
    });
const AppendSchema = messagesSchema(MAX_MESSAGES_PER_APPEND);

const ChangesSchema = z
  .object({ role: MessageRoleSchema.optional(), parts: PartsSchema.optional(), content: TextSchema.optional(), metadata: MetadataInputSchema.optional() })
  .strict();

const ListSchema = z
  .object({
    limit: z.number().int().min(1).max(1000).default(50),
    before: IdSchema.optional(),
    after: IdSchema.optional(),
    order: z.enum(['asc', 'desc']).default('asc'),
  })
  .strict();

const DeleteAfterSchema = z.object({ inclusive: z.boolean().default(false) }).strict();

const ChangeSetSchema = z
  .object({
    update: z.array(z.object({ id: IdSchema, changes: ChangesSchema }).strict()).max(MAX_MESSAGES_PER_APPEND).optional(),
    deleteFrom: IdSchema.optional(),
    // A chat saved for the first time (an import) may bring its whole history at once.
    append: messagesSchema(10 * MAX_MESSAGES_PER_APPEND).optional(),
  })
  .strict();

type ParsedChanges = z.output<typeof ChangesSchema>;
/** A message as the append statement takes it (one element of its jsonb recordset). */
interface AppendRowInput {
  ord: number;
  id: string;
  role: MessageRole;
  parts: JsonObject[];
  content: string;
  metadata: JsonObject;
  created_at: string | null;
}

const MESSAGE_COLUMNS = ['tenant_id', 'thread_id', 'id', 'seq', 'role', 'parts', 'content', 'metadata', 'created_at', 'updated_at'] as const satisfies readonly ColumnName<'messages'>[];
type MessageRow = Row<'messages', (typeof MESSAGE_COLUMNS)[number]>;
const COLUMNS = MESSAGE_COLUMNS.join(', ');

/**
 * One statement: the thread's counter advanced by the number of messages under its row lock, the
 * messages inserted at the positions it handed out, an id the thread already holds skipped (ON
 * CONFLICT: its position stays unused). It reads no messages, so its cached plan cannot turn into a
 * scan of a thread's history. Ids it did not insert (a missing thread, or ids the thread already
 * held) are then looked up: the rare path pays the extra round trips.
 */
const APPEND_SQL = `WITH input AS (
    SELECT x.ord, x.id, x.role, x.parts, x.content, x.metadata, x.created_at
      FROM jsonb_to_recordset($3::jsonb) AS x(ord int, id text, role text, parts jsonb, content text, metadata jsonb, created_at timestamptz)
  ), bump AS (
    UPDATE threads SET message_seq = message_seq + $5, updated_at = $4 WHERE tenant_id = $1 AND id = $2
    RETURNING message_seq
  ), inserted AS (
    INSERT INTO messages (${COLUMNS})
    SELECT $1, $2, i.id, b.message_seq - $5 + 1 + i.ord, i.role, i.parts, i.content, i.metadata, coalesce(i.created_at, $4), $4
      FROM input i CROSS JOIN bump b
    ON CONFLICT (tenant_id, thread_id, id) DO NOTHING
    RETURNING ${COLUMNS}
  )
  SELECT ${COLUMNS} FROM inserted`;

/** APPEND_SQL for one message, the hot path (a chat turn), without the recordset. */
const APPEND_ONE_SQL = `WITH bump AS (
    UPDATE threads SET message_seq = message_seq + 1, updated_at = $4 WHERE tenant_id = $1 AND id = $2
    RETURNING message_seq
  ), inserted AS (
    INSERT INTO messages (${COLUMNS})
    SELECT $1, $2, $3, b.message_seq, $5, $6::jsonb, $7, $8::jsonb, coalesce($9::timestamptz, $4), $4 FROM bump b
    ON CONFLICT (tenant_id, thread_id, id) DO NOTHING
    RETURNING ${COLUMNS}
  )
  SELECT ${COLUMNS} FROM inserted`;

/** The text of a message's `text` parts, joined by blank lines. */
function textOf(parts: readonly JsonObject[]): string {
  return parts
    .filter((p) => p.type === 'text' && typeof p.text === 'string')
    .map((p) => p.text as string)
    .join('\n\n');
}

/** Appends, lists, edits and truncates the messages of threads in one tenant. */
export class MessageStore<M extends JsonObject = JsonObject> {
  readonly tenantId: string;
  readonly #db: CairnDb;
  readonly #executor: Executor;
  readonly #schema: z.ZodType<M>;
  /** Whether stored metadata is checked on read: only against an application schema (jsonb holds JSON objects already). */
  readonly #checkOnRead: boolean;

  constructor(db: CairnDb, options: MessageStoreOptions<M> = {}) {
    const opts = parseInput(MessageStoreOptionsSchema, options, 'message store options');
    this.#db = db;
    this.#executor = poolExecutor(db);
    this.tenantId = opts.tenantId;
    this.#schema = (options.metadataSchema ?? JsonObjectSchema) as z.ZodType<M>;
    this.#checkOnRead = options.metadataSchema !== undefined;
  }

  /** The same store scoped to another tenant. */
  forTenant(tenantId: string): MessageStore<M> {
    const tenant = parseInput(TenantIdSchema, tenantId, 'tenant id');
    return new MessageStore<M>(this.#db, { tenantId: tenant, ...(this.#checkOnRead ? { metadataSchema: this.#schema } : {}) });
  }

  /**
   * Appends messages to the end of the thread, in the order given, in one round trip. Idempotent by
   * id: a message whose id the thread already holds is left as stored and returned as stored.
   * Returns the records in input order. ThreadNotFoundError if the thread does not exist.
   */
  async append(threadId: string, messages: readonly MessageInput<M>[]): Promise<MessageRecord<M>[]> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const rows = this.#appendRows(parseInput(AppendSchema, messages, 'messages'));
    return this.#append(this.#executor, thread, rows);
  }

  /**
   * Edits, then a truncation (`deleteFrom` and everything after it), then appends, in one
   * transaction: all of it or none. Everything is validated before the first statement. This is
   * what saving a chat amounts to (@cairn/cairn/ai-sdk's saveChat). MessageNotFoundError when an
   * edited message or `deleteFrom` is not in the thread, ThreadNotFoundError when the thread is not.
   */
  async applyChanges(threadId: string, changeSet: MessageChangeSet<M>): Promise<MessageChangeResult<M>> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const parsed = parseInput(ChangeSetSchema, changeSet, 'message changes');
    const updates = (parsed.update ?? []).map(({ id, changes }) => ({ id, changes: this.#checkedChanges(changes) }));
    const rows = this.#appendRows(parsed.append ?? []);
    return this.#db.transaction(
      async (client) => {
        const executor = clientExecutor(client);
        const updated: MessageRecord<M>[] = [];
        for (const { id, changes } of updates) updated.push(await this.#update(executor, thread, id, changes));
        const deleted = parsed.deleteFrom === undefined ? 0 : await this.#deleteAfter(executor, thread, parsed.deleteFrom, true);
        const appended = await this.#append(executor, thread, rows);
        return { updated, deleted, appended };
      },
      { operation: 'message applyChanges' },
    );
  }

  #appendRows(input: z.output<typeof AppendSchema>): AppendRowInput[] {
    return input.map((m, ord) => {
      const parts = m.parts ?? (m.content === undefined ? [] : [{ type: 'text', text: m.content }]);
      return {
        ord,
        id: m.id ?? uuidv7(),
        role: m.role,
        parts,
        content: m.content ?? textOf(parts),
        metadata: metadataForWrite(this.#schema, m.metadata ?? {}, 'message metadata'),
        created_at: m.createdAt?.toISOString() ?? null,
      };
    });
  }

  async #append(executor: Executor, thread: string, rows: readonly AppendRowInput[]): Promise<MessageRecord<M>[]> {
    if (rows.length === 0) {
      if (!(await this.#threadExists(executor, thread))) throw new ThreadNotFoundError(thread);
      return [];
    }
    const now = new Date();
    const [only] = rows;
    // Named: planning these statements costs more than running them.
    const statement =
      rows.length === 1 && only
        ? {
            name: 'cairn_message_append_one',
            text: APPEND_ONE_SQL,
            values: [this.tenantId, thread, only.id, now, only.role, JSON.stringify(only.parts), only.content, JSON.stringify(only.metadata), only.created_at],
          }
        : { name: 'cairn_message_append', text: APPEND_SQL, values: [this.tenantId, thread, JSON.stringify(rows), now, rows.length] };
    const { rows: result } = await executor.write<MessageRow>('message append', statement);
    const byId = new Map<string, MessageRecord<M>>();
    for (const row of result) byId.set(row.id, this.#fromRow(row));
    // Ids the thread already held (a repeated save, or another append of the same id): stored before.
    const known = rows.filter((r) => !byId.has(r.id)).map((r) => r.id);
    if (known.length > 0) {
      for (const record of await this.#getMany(executor, thread, known)) byId.set(record.id, record);
      const missing = rows.find((r) => !byId.has(r.id));
      if (missing !== undefined) {
        // Messages cannot outlive their thread (the foreign key), so none found means no thread;
        // else the one missing was deleted between the insert and this read.
        if (!(await this.#threadExists(executor, thread))) throw new ThreadNotFoundError(thread);
        throw new MessageNotFoundError(thread, missing.id);
      }
    }
    return rows.map((r) => byId.get(r.id)!);
  }

  /** The thread's messages, one page: oldest first unless `order: 'desc'`. A thread without messages (or none at all) gives []. */
  async list(threadId: string, options: MessageListOptions = {}): Promise<MessageRecord<M>[]> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const opts = parseInput(ListSchema, options, 'message list options');
    const position = (param: string) => `(SELECT seq FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND id = ${param})`;
    const conditions = ['tenant_id = $1', 'thread_id = $2'];
    const values: unknown[] = [this.tenantId, thread];
    if (opts.before !== undefined) {
      values.push(opts.before);
      conditions.push(`seq < ${position(`$${values.length}`)}`);
    }
    if (opts.after !== undefined) {
      values.push(opts.after);
      conditions.push(`seq > ${position(`$${values.length}`)}`);
    }
    values.push(opts.limit);
    const { rows } = await this.#executor.read<MessageRow>('message list', {
      name: `cairn_message_list_${opts.order}${opts.before === undefined ? '' : '_before'}${opts.after === undefined ? '' : '_after'}`,
      text: `SELECT ${COLUMNS} FROM messages WHERE ${conditions.join(' AND ')} ORDER BY seq ${opts.order === 'asc' ? 'ASC' : 'DESC'} LIMIT $${values.length}`,
      values,
    });
    if (rows.length === 0) {
      // An unknown cursor reads as an empty page above: say so instead.
      for (const cursor of [opts.before, opts.after]) if (cursor !== undefined && (await this.#getMany(this.#executor, thread, [cursor])).length === 0) throw new MessageNotFoundError(thread, cursor);
    }
    return rows.map((r) => this.#fromRow(r));
  }

  /** The message, or null. */
  async get(threadId: string, id: string): Promise<MessageRecord<M> | null> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const messageId = parseInput(IdSchema, id, 'message id');
    return (await this.#getMany(this.#executor, thread, [messageId]))[0] ?? null;
  }

  /** How many messages the thread holds. */
  async count(threadId: string): Promise<number> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const { rows } = await this.#executor.read<{ n: number }>('message count', {
      text: 'SELECT count(*)::int AS n FROM messages WHERE tenant_id = $1 AND thread_id = $2',
      values: [this.tenantId, thread],
    });
    return rows[0]!.n;
  }

  /** Changes a message in place (an edit); it keeps its id and position. MessageNotFoundError if absent. */
  async update(threadId: string, id: string, changes: MessageChanges<M>): Promise<MessageRecord<M>> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const messageId = parseInput(IdSchema, id, 'message id');
    return this.#update(this.#executor, thread, messageId, this.#checkedChanges(parseInput(ChangesSchema, changes, 'message changes')));
  }

  /** The changes with their metadata checked by the application's schema. */
  #checkedChanges(changes: ParsedChanges): ParsedChanges {
    return changes.metadata === undefined ? changes : { ...changes, metadata: metadataForWrite(this.#schema, changes.metadata, 'message metadata') };
  }

  async #update(executor: Executor, thread: string, messageId: string, opts: ParsedChanges): Promise<MessageRecord<M>> {
    const sets: string[] = [];
    const values: unknown[] = [this.tenantId, thread, messageId, new Date()];
    const set = (column: ColumnName<'messages'>, value: unknown, cast = '') => {
      values.push(value);
      sets.push(`${column} = $${values.length}${cast}`);
    };
    if (opts.role !== undefined) set('role', opts.role);
    if (opts.parts !== undefined) set('parts', JSON.stringify(opts.parts), '::jsonb');
    const content = opts.content ?? (opts.parts === undefined ? undefined : textOf(opts.parts));
    if (content !== undefined) set('content', content);
    if (opts.metadata !== undefined) set('metadata', JSON.stringify(opts.metadata), '::jsonb');
    const { rows } = await executor.write<MessageRow>('message update', {
      text: `UPDATE messages SET ${[...sets, 'updated_at = $4'].join(', ')} WHERE tenant_id = $1 AND thread_id = $2 AND id = $3 RETURNING ${COLUMNS}`,
      values,
    });
    if (!rows[0]) throw new MessageNotFoundError(thread, messageId);
    return this.#fromRow(rows[0]);
  }

  /**
   * Deletes the messages after `id` (and `id` itself with `inclusive: true`): what regenerating an
   * answer from that point discards. Returns how many were deleted. MessageNotFoundError if `id` is
   * not in the thread.
   */
  async deleteAfter(threadId: string, id: string, options: { inclusive?: boolean } = {}): Promise<number> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const messageId = parseInput(IdSchema, id, 'message id');
    const { inclusive } = parseInput(DeleteAfterSchema, options, 'deleteAfter options');
    return this.#deleteAfter(this.#executor, thread, messageId, inclusive);
  }

  async #deleteAfter(executor: Executor, thread: string, messageId: string, inclusive: boolean): Promise<number> {
    const { rows } = await executor.write<{ found: boolean; deleted: number }>('message deleteAfter', {
      text: `WITH point AS (SELECT seq FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND id = $3),
        gone AS (DELETE FROM messages m USING point p WHERE m.tenant_id = $1 AND m.thread_id = $2 AND m.seq ${inclusive ? '>=' : '>'} p.seq RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM point) AS found, (SELECT count(*) FROM gone)::int AS deleted`,
      values: [this.tenantId, thread, messageId],
    });
    if (!rows[0]!.found) throw new MessageNotFoundError(thread, messageId);
    return rows[0]!.deleted;
  }

  /** Deletes one message. Returns false when there was none. */
  async delete(threadId: string, id: string): Promise<boolean> {
    const thread = parseInput(IdSchema, threadId, 'thread id');
    const messageId = parseInput(IdSchema, id, 'message id');
    const { rowCount } = await this.#executor.write('message delete', {
      text: 'DELETE FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND id = $3',
      values: [this.tenantId, thread, messageId],
    });
    return (rowCount ?? 0) > 0;
  }

  toJSON(): Record<string, unknown> {
    return { tenantId: this.tenantId };
  }

  async #threadExists(executor: Executor, thread: string): Promise<boolean> {
    const { rows } = await executor.read('thread exists', { text: 'SELECT 1 FROM threads WHERE tenant_id = $1 AND id = $2', values: [this.tenantId, thread] });
    return rows.length > 0;
  }

  async #getMany(executor: Executor, thread: string, ids: readonly string[]): Promise<MessageRecord<M>[]> {
    const { rows } = await executor.read<MessageRow>('message get', {
      text: `SELECT ${COLUMNS} FROM messages WHERE tenant_id = $1 AND thread_id = $2 AND id = ANY($3::text[])`,
      values: [this.tenantId, thread, ids],
    });
    return rows.map((r) => this.#fromRow(r));
  }

  #fromRow(row: MessageRow): MessageRecord<M> {
    return {
      tenantId: row.tenant_id,
      threadId: row.thread_id,
      id: row.id,
      seq: Number(row.seq),
      role: row.role as MessageRole,
      // Written only by append and update, from validated arrays of JSON objects.
      parts: row.parts as JsonObject[],
      content: row.content,
      metadata: this.#checkOnRead ? metadataFromRow(this.#schema, row.metadata, 'Message', row.id) : (row.metadata as M),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}
