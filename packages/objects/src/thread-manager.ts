// Threads: a line of work inside a session (one agent run, one conversation branch). Checkpoints
// refer to a thread by id only (LangGraph writes checkpoints for threads nobody registered), so
// deleting a thread hands its id to the checkpoints' owner in the same transaction (thread-data.ts).
// Statements are parameterised SQL through CairnDb.run / CairnDb.transaction rather than Prisma's
// client: Prisma's errors hide the SQLSTATE, and the retry policy and typed errors need it.
import { z } from 'zod';
import { IdSchema, JsonObjectSchema, TenantIdSchema, TextSchema, errorCode, parseInput, type JsonObject } from '@cairn/core';
import type { CairnDb, ColumnName, Row } from '@cairn/db';
import { v7 as uuidv7 } from 'uuid';
import { decodeCursor, encodeCursor, type Page } from './cursor.js';
import { DuplicateIdError, SessionNotFoundError, ThreadNotFoundError } from './errors.js';
import { poolExecutor, type Executor } from './executor.js';
import { MetadataInputSchema } from './json.js';
import { ThreadDataOwnersSchema, deleteThreadData, type ThreadDataOwners } from './thread-data.js';
import { metadataForWrite, metadataFromRow } from './metadata.js';

/** A thread as stored. */
export interface ThreadRecord<M extends JsonObject = JsonObject> {
  readonly tenantId: string;
  readonly id: string;
  /** The session it belongs to; null for a thread outside any session. */
  readonly sessionId: string | null;
  readonly userId: string;
  readonly title: string | null;
  readonly metadata: M;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export const ThreadManagerOptionsSchema = z
  .object({
    /** Tenant every query is scoped to. @defaultValue 'default' */
    tenantId: TenantIdSchema.default('default'),
    /**
     * The owner of each tenant's checkpoints (createCairn passes the checkpointer): deleting a
     * thread deletes its checkpoints through it. Without one, checkpoints are left alone.
     */
    threadData: ThreadDataOwnersSchema.optional(),
    /** Validates metadata on write and read. @defaultValue any JSON object */
    metadataSchema: z.custom<z.ZodType<JsonObject>>((v) => typeof v === 'object' && v !== null && 'safeParse' in v, 'must be a zod schema').optional(),
  })
  .strict();

/** Options of ThreadManager. */
export type ThreadManagerOptions<M extends JsonObject = JsonObject> = Omit<z.input<typeof ThreadManagerOptionsSchema>, 'metadataSchema'> & {
  metadataSchema?: z.ZodType<M>;
};

/** Titles: core's text rule (no NUL, no lone surrogates), at most 1000 characters. */
const Title = TextSchema.refine((title) => title.length <= 1000, 'must be at most 1000 characters');

const CreateSchema = z
  .object({
    userId: IdSchema,
    /** Your own id (e.g. LangGraph's thread_id); a UUIDv7 is generated when absent. */
    id: IdSchema.optional(),
    /** A live session of this tenant; SessionNotFoundError otherwise. */
    sessionId: IdSchema.nullable().optional(),
    title: Title.nullable().optional(),
    metadata: MetadataInputSchema.optional(),
  })
  .strict();

const UpdateSchema = z
  .object({
    title: Title.nullable().optional(),
    metadata: MetadataInputSchema.optional(),
    mergeMetadata: MetadataInputSchema.optional(),
  })
  .strict();

const ListSchema = z.object({ limit: z.number().int().min(1).max(1000).default(50), cursor: z.string().max(4096).nullable().optional() }).strict();

/** Input of ThreadManager.create(). */
export interface CreateThreadInput<M> {
  userId: string;
  id?: string;
  sessionId?: string | null;
  title?: string | null;
  metadata?: M;
}

/** Input of ThreadManager.update(). */
export interface UpdateThreadInput<M> {
  title?: string | null;
  metadata?: M;
  mergeMetadata?: Partial<M>;
}

// The column list is checked against the schema like the row it returns.
const THREAD_COLUMNS = ['tenant_id', 'id', 'session_id', 'user_id', 'title', 'metadata', 'created_at', 'updated_at'] as const satisfies readonly ColumnName<'threads'>[];
type ThreadRow = Row<'threads', (typeof THREAD_COLUMNS)[number]>;
const COLUMNS = THREAD_COLUMNS.join(', ');
// The listings' filters, mapped to SQL that never comes from the caller.
const LIST_COLUMNS = { sessionId: 'session_id', userId: 'user_id' } as const satisfies Record<string, ColumnName<'threads'>>;

/** Creates, reads, updates, lists and deletes threads of one tenant. */
export class ThreadManager<M extends JsonObject = JsonObject> {
  readonly tenantId: string;
  readonly #db: CairnDb;
  readonly #executor: Executor;
  readonly #threadData: ThreadDataOwners | undefined;
  readonly #schema: z.ZodType<M>;

  constructor(db: CairnDb, options: ThreadManagerOptions<M> = {}) {
    const opts = parseInput(ThreadManagerOptionsSchema, options, 'thread manager options');
    this.#db = db;
    this.#executor = poolExecutor(db);
    this.#threadData = opts.threadData;
    this.tenantId = opts.tenantId;
    this.#schema = (options.metadataSchema ?? JsonObjectSchema) as z.ZodType<M>;
  }

  /** The same manager scoped to another tenant. */
  forTenant(tenantId: string): ThreadManager<M> {
    return new ThreadManager<M>(this.#db, {
      tenantId: parseInput(TenantIdSchema, tenantId, 'tenant id'),
      metadataSchema: this.#schema,
      ...(this.#threadData ? { threadData: this.#threadData } : {}),
    });
  }

  /**
   * Creates a thread, optionally inside a session (which must exist in this tenant and be live).
   * DuplicateIdError if `id` is taken in this tenant.
   */
  async create(input: CreateThreadInput<M>): Promise<ThreadRecord<M>> {
    const opts = parseInput(CreateSchema, input, 'thread');
    const metadata = metadataForWrite(this.#schema, opts.metadata ?? {}, 'thread metadata');
    const sessionId = opts.sessionId ?? null;
    const threadId = opts.id ?? uuidv7();
    const now = new Date();
    const row = await this.#db.transaction(
      async (client) => {
        if (sessionId !== null) {
          // Lock the session (FOR SHARE) so that it cannot be deleted or purged before the thread exists.
          const live = await client.query(
            'SELECT 1 FROM sessions WHERE tenant_id = $1 AND id = $2 AND (expires_at IS NULL OR expires_at > $3) FOR SHARE',
            [this.tenantId, sessionId, now],
          );
          if (live.rows.length === 0) throw new SessionNotFoundError(sessionId);
        }
        const inserted = await client
          .query<ThreadRow>(`INSERT INTO threads (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $7) RETURNING ${COLUMNS}`, [
            this.tenantId,
            threadId,
            sessionId,
            opts.userId,
            opts.title ?? null,
            JSON.stringify(metadata),
            now,
          ])
          .catch((error: unknown) => {
            if (errorCode(error) === '23505') throw new DuplicateIdError('thread', threadId, { cause: error });
            if (errorCode(error) === '23503' && sessionId !== null) throw new SessionNotFoundError(sessionId);
            throw error;
          });
        return inserted.rows[0]!;
      },
      { operation: 'thread create' },
    );
    return this.#fromRow(row);
  }

  /** The thread, or null. */
  async get(id: string): Promise<ThreadRecord<M> | null> {
    const threadId = parseInput(IdSchema, id, 'thread id');
    const { rows } = await this.#executor.read<ThreadRow>('thread get', {
      text: `SELECT ${COLUMNS} FROM threads WHERE tenant_id = $1 AND id = $2`,
      values: [this.tenantId, threadId],
    });
    return rows[0] ? this.#fromRow(rows[0]) : null;
  }

  /** The thread; ThreadNotFoundError if it does not exist. */
  async require(id: string): Promise<ThreadRecord<M>> {
    const thread = await this.get(id);
    if (!thread) throw new ThreadNotFoundError(id);
    return thread;
  }

  /** Changes the title and/or metadata (replace and/or shallow merge), atomically. */
  async update(id: string, changes: UpdateThreadInput<M>): Promise<ThreadRecord<M>> {
    const threadId = parseInput(IdSchema, id, 'thread id');
    const opts = parseInput(UpdateSchema, changes, 'thread update');
    const now = new Date();
    const row = await this.#db.transaction(
      async (client) => {
        const { rows } = await client.query<Row<'threads', 'title' | 'metadata'>>(
          'SELECT title, metadata FROM threads WHERE tenant_id = $1 AND id = $2 FOR UPDATE',
          [this.tenantId, threadId],
        );
        const current = rows[0];
        if (!current) throw new ThreadNotFoundError(threadId);
        const title = opts.title === undefined ? current.title : opts.title;
        let metadata = current.metadata as JsonObject;
        if (opts.metadata !== undefined || opts.mergeMetadata) {
          if (opts.metadata !== undefined) metadata = opts.metadata;
          if (opts.mergeMetadata) metadata = { ...metadata, ...opts.mergeMetadata };
          metadata = metadataForWrite(this.#schema, metadata, 'thread metadata');
        }
        const updated = await client.query<ThreadRow>(
          `UPDATE threads SET title = $3, metadata = $4::jsonb, updated_at = $5 WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
          [this.tenantId, threadId, title, JSON.stringify(metadata), now],
        );
        return updated.rows[0]!;
      },
      { operation: 'thread update' },
    );
    return this.#fromRow(row);
  }

  /**
   * Deletes the thread and, through `threadData` (the checkpointer, when createCairn wires it), its
   * checkpoints and pending writes, in one transaction. Returns false, deleting nothing, when there
   * is no such thread.
   */
  async delete(id: string): Promise<boolean> {
    const threadId = parseInput(IdSchema, id, 'thread id');
    const deletion = await this.#db.transaction(
      async (client) => {
        const { rowCount } = await client.query('DELETE FROM threads WHERE tenant_id = $1 AND id = $2', [this.tenantId, threadId]);
        return rowCount ? deleteThreadData(this.#threadData, this.tenantId, client, [threadId]) : undefined;
      },
      { operation: 'thread delete' },
    );
    await deletion?.afterCommit();
    return deletion !== undefined;
  }

  /** The session's threads, newest first, one page at a time. */
  async listBySession(sessionId: string, options: { limit?: number; cursor?: string | null } = {}): Promise<Page<ThreadRecord<M>>> {
    return this.#list({ sessionId: parseInput(IdSchema, sessionId, 'session id') }, options);
  }

  /** The user's threads (in any session or none), newest first, one page at a time. */
  async listByUser(userId: string, options: { limit?: number; cursor?: string | null } = {}): Promise<Page<ThreadRecord<M>>> {
    return this.#list({ userId: parseInput(IdSchema, userId, 'user id') }, options);
  }

  async #list(filter: { sessionId: string } | { userId: string }, options: { limit?: number; cursor?: string | null }): Promise<Page<ThreadRecord<M>>> {
    const opts = parseInput(ListSchema, options, 'list options');
    const after = opts.cursor ? decodeCursor(opts.cursor, 'thread:createdAt:desc') : undefined;
    const [field, value] = 'sessionId' in filter ? (['sessionId', filter.sessionId] as const) : (['userId', filter.userId] as const);
    const { rows } = await this.#executor.read<ThreadRow>('thread list', {
      text: `SELECT ${COLUMNS} FROM threads WHERE tenant_id = $1 AND ${LIST_COLUMNS[field]} = $2
        AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::text))
        ORDER BY created_at DESC, id DESC LIMIT $5`,
      values: [this.tenantId, value, after ? after.value : null, after ? after.id : null, opts.limit + 1],
    });
    const more = rows.length > opts.limit;
    const items = (more ? rows.slice(0, opts.limit) : rows).map((r) => this.#fromRow(r));
    const last = items.at(-1);
    return { items, nextCursor: more && last ? encodeCursor('thread:createdAt:desc', last.createdAt.toISOString(), last.id) : null };
  }

  toJSON(): Record<string, unknown> {
    return { tenantId: this.tenantId };
  }

  #fromRow(row: ThreadRow): ThreadRecord<M> {
    return {
      tenantId: row.tenant_id,
      id: row.id,
      sessionId: row.session_id,
      userId: row.user_id,
      title: row.title,
      metadata: metadataFromRow(this.#schema, row.metadata, 'Thread', row.id),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}
