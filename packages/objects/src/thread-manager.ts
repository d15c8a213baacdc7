// Threads: a line of work inside a session (one agent run, one conversation branch). Checkpoints
// refer to a thread by id only (LangGraph writes checkpoints for threads nobody registered), so
// deleting a thread hands its id to the checkpoints' owner in the same transaction (thread-data.ts).
import { z } from 'zod';
import { parseInput } from '@cairn/core';
import type { CairnDb } from '@cairn/db';
import { decodeCursor, encodeCursor, type Page } from './cursor.js';
import { DuplicateIdError, SessionNotFoundError, ThreadNotFoundError } from './errors.js';
import { IdSchema, JsonObjectSchema, TenantIdSchema, type JsonObject } from './json.js';
import { ThreadDataOwnersSchema, deleteThreadData, type ThreadDataOwners } from './thread-data.js';
import { isPrismaError, metadataForWrite, metadataFromRow } from './metadata.js';

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

const Title = z.string().max(1000);

const CreateSchema = z
  .object({
    userId: IdSchema,
    /** Your own id (e.g. LangGraph's thread_id); a UUIDv7 is generated when absent. */
    id: IdSchema.optional(),
    /** A live session of this tenant; SessionNotFoundError otherwise. */
    sessionId: IdSchema.nullable().optional(),
    title: Title.nullable().optional(),
    metadata: z.unknown().optional(),
  })
  .strict();

const UpdateSchema = z
  .object({
    title: Title.nullable().optional(),
    metadata: z.unknown().optional(),
    mergeMetadata: z.record(z.string(), z.unknown()).optional(),
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

interface ThreadModel {
  tenantId: string;
  id: string;
  sessionId: string | null;
  userId: string;
  title: string | null;
  metadata: unknown;
  createdAt: Date;
  updatedAt: Date;
}

/** Creates, reads, updates, lists and deletes threads of one tenant. */
export class ThreadManager<M extends JsonObject = JsonObject> {
  readonly tenantId: string;
  readonly #db: CairnDb;
  readonly #threadData: ThreadDataOwners | undefined;
  readonly #schema: z.ZodType<M>;

  constructor(db: CairnDb, options: ThreadManagerOptions<M> = {}) {
    const opts = parseInput(ThreadManagerOptionsSchema, options, 'thread manager options');
    this.#db = db;
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
    try {
      const row = await this.#db.prisma.$transaction(async (tx) => {
        if (sessionId !== null) {
          // Lock the session (FOR SHARE) so that it cannot be deleted or purged before the thread exists.
          const now = new Date();
          const live = await tx.$queryRaw<unknown[]>`
            SELECT 1 FROM sessions WHERE tenant_id = ${this.tenantId} AND id = ${sessionId}
              AND (expires_at IS NULL OR expires_at > ${now}) FOR SHARE`;
          if (live.length === 0) throw new SessionNotFoundError(sessionId);
        }
        return tx.thread.create({
          data: { tenantId: this.tenantId, ...(opts.id ? { id: opts.id } : {}), sessionId, userId: opts.userId, title: opts.title ?? null, metadata },
        });
      });
      return this.#fromModel(row);
    } catch (error) {
      if (isPrismaError(error, 'P2002')) throw new DuplicateIdError('thread', opts.id ?? '', { cause: error });
      if (isPrismaError(error, 'P2003') && sessionId !== null) throw new SessionNotFoundError(sessionId);
      throw error;
    }
  }

  /** The thread, or null. */
  async get(id: string): Promise<ThreadRecord<M> | null> {
    const threadId = parseInput(IdSchema, id, 'thread id');
    const row = await this.#db.prisma.thread.findUnique({ where: { tenantId_id: { tenantId: this.tenantId, id: threadId } } });
    return row ? this.#fromModel(row) : null;
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
    const row = await this.#db.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<Array<{ metadata: unknown }>>`
        SELECT metadata FROM threads WHERE tenant_id = ${this.tenantId} AND id = ${threadId} FOR UPDATE`;
      const current = rows[0];
      if (!current) throw new ThreadNotFoundError(threadId);
      const data: { title?: string | null; metadata?: M } = {};
      if (opts.title !== undefined) data.title = opts.title;
      if (opts.metadata !== undefined || opts.mergeMetadata) {
        let metadata = opts.metadata === undefined ? (current.metadata as JsonObject) : (opts.metadata as JsonObject);
        if (opts.mergeMetadata) metadata = { ...metadata, ...(opts.mergeMetadata as JsonObject) };
        data.metadata = metadataForWrite(this.#schema, metadata, 'thread metadata');
      }
      return tx.thread.update({ where: { tenantId_id: { tenantId: this.tenantId, id: threadId } }, data });
    });
    return this.#fromModel(row);
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
  listBySession(sessionId: string, options: { limit?: number; cursor?: string | null } = {}): Promise<Page<ThreadRecord<M>>> {
    return this.#list({ sessionId: parseInput(IdSchema, sessionId, 'session id') }, options);
  }

  /** The user's threads (in any session or none), newest first, one page at a time. */
  listByUser(userId: string, options: { limit?: number; cursor?: string | null } = {}): Promise<Page<ThreadRecord<M>>> {
    return this.#list({ userId: parseInput(IdSchema, userId, 'user id') }, options);
  }

  async #list(filter: { sessionId: string } | { userId: string }, options: { limit?: number; cursor?: string | null }): Promise<Page<ThreadRecord<M>>> {
    const opts = parseInput(ListSchema, options, 'list options');
    const after = opts.cursor ? decodeCursor(opts.cursor, 'thread:createdAt:desc') : undefined;
    const rows = await this.#db.prisma.thread.findMany({
      where: {
        tenantId: this.tenantId,
        ...filter,
        ...(after ? { OR: [{ createdAt: { lt: new Date(after.value!) } }, { createdAt: new Date(after.value!), id: { lt: after.id } }] } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: opts.limit + 1,
    });
    const more = rows.length > opts.limit;
    const items = (more ? rows.slice(0, opts.limit) : rows).map((r) => this.#fromModel(r));
    const last = items.at(-1);
    return { items, nextCursor: more && last ? encodeCursor('thread:createdAt:desc', last.createdAt.toISOString(), last.id) : null };
  }

  toJSON(): Record<string, unknown> {
    return { tenantId: this.tenantId };
  }

  #fromModel(row: ThreadModel): ThreadRecord<M> {
    return {
      tenantId: row.tenantId,
      id: row.id,
      sessionId: row.sessionId,
      userId: row.userId,
      title: row.title,
      metadata: metadataFromRow(this.#schema, row.metadata, 'Thread', row.id),
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }
}
