// Sessions: a user's conversation with an agent application, with metadata, last activity and an
// optional expiry. Expired sessions are invisible to every read and removed by purgeExpired().
// Deleting a session removes its threads and, through the checkpoints' owner, their checkpoints,
// in one transaction (thread-data.ts).
// With a cache configured, get() reads through it and every write invalidates it.
// Statements are parameterised SQL through CairnDb.run / CairnDb.transaction rather than Prisma's
// client: Prisma's errors hide the SQLSTATE, and the retry policy and typed errors need it.
import { z } from 'zod';
import { IdSchema, JsonObjectSchema, TenantIdSchema, errorCode, parseInput, type JsonObject } from '@cairn/core';
import type { CairnDb, ColumnName, Row } from '@cairn/db';
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { CairnEvent } from '@cairn/redis';
import { decodeCursor, encodeCursor, type Page } from './cursor.js';
import { DuplicateIdError, SessionNotFoundError } from './errors.js';
import { poolExecutor, type Executor } from './executor.js';
import { MetadataInputSchema } from './json.js';
import { metadataForWrite, metadataFromRow } from './metadata.js';
import { ChangeNotifierSchema, RedisConnectionSchema, composeCacheKey } from '@cairn/redis';
import { RedisSessionCache } from './redis-caches.js';
import type { SessionCache, SessionRecord } from './session-record.js';
import { ThreadDataOwnersSchema, deleteThreadData, type ThreadDataOwners } from './thread-data.js';

/**
 * Lifetimes and expiries stay where timestamptz and Date both reach (years 1-9999 here): beyond,
 * PostgreSQL would refuse the value (22008) or the Date would be invalid.
 */
const MAX_TTL_SECONDS = 3_155_760_000; // 100 years
const TtlSecondsSchema = z.number().int().min(1).max(MAX_TTL_SECONDS, 'must be at most 3155760000 (100 years)');
const ExpiresAtSchema = z
  .date()
  .min(new Date('0001-01-01T00:00:00.000Z'), 'must be in year 1 or later')
  .max(new Date('9999-12-31T23:59:59.999Z'), 'must be in year 9999 or earlier');

export const SessionManagerOptionsSchema = z
  .object({
    /** Tenant every query is scoped to. @defaultValue 'default' */
    tenantId: TenantIdSchema.default('default'),
    /**
     * The owner of each tenant's checkpoints (createCairn passes the checkpointer): deleting or
     * purging a session deletes its threads' checkpoints through it. Without one, they are left alone.
     */
    threadData: ThreadDataOwnersSchema.optional(),
    /** Lifetime of new sessions in seconds; null: sessions never expire unless told. @defaultValue null */
    defaultTtlSeconds: TtlSecondsSchema.nullable().default(null),
    /** touch() also pushes the expiry to now + the session's TTL (defaultTtlSeconds). @defaultValue false */
    slidingExpiration: z.boolean().default(false),
    /** Validates metadata on write and read. @defaultValue any JSON object */
    metadataSchema: z.custom<z.ZodType<JsonObject>>((v) => typeof v === 'object' && v !== null && 'safeParse' in v, 'must be a zod schema').optional(),
    /**
     * Caches sessions in Redis: get() reads through, every write invalidates, entries live no longer
     * than the session (nor than cacheTtlSeconds); Redis down means reads go to PostgreSQL. The
     * connection stays the caller's. @defaultValue no cache
     */
    redis: RedisConnectionSchema.optional(),
    /** Longest time a session stays cached, in seconds (never beyond its expiry). @defaultValue 300 */
    cacheTtlSeconds: z.number().int().min(1).default(300),
    /**
     * Publishes `session.updated` / `session.deleted` / `session.expired` events on channel
     * `cairn:sessions` (at most once, not awaited by the write). @defaultValue none
     */
    notifier: ChangeNotifierSchema.optional(),
  })
  .strict();

/** The channel session events are published on. */
export const SESSION_EVENTS_CHANNEL = 'cairn:sessions';

/** Options of SessionManager. */
export type SessionManagerOptions<M extends JsonObject = JsonObject> = Omit<z.input<typeof SessionManagerOptionsSchema>, 'metadataSchema'> & {
  metadataSchema?: z.ZodType<M>;
};

const CreateSchema = z
  .object({
    userId: IdSchema,
    /** Your own id; a UUIDv7 is generated when absent. */
    id: IdSchema.optional(),
    metadata: MetadataInputSchema.optional(),
    /** Lifetime in seconds (overrides defaultTtlSeconds; null: never expires). */
    ttlSeconds: TtlSecondsSchema.nullable().optional(),
    /** Absolute expiry (overrides ttlSeconds). */
    expiresAt: ExpiresAtSchema.nullable().optional(),
  })
  .strict();

const UpdateSchema = z
  .object({
    /** Replaces the metadata. */
    metadata: MetadataInputSchema.optional(),
    /** Shallow-merges into the metadata (after `metadata`, if both are given); checked in place, so a `__proto__` key is refused, not dropped. */
    mergeMetadata: MetadataInputSchema.optional(),
    /** Sets last activity to now (and extends the expiry with slidingExpiration). */
    touch: z.boolean().optional(),
    expiresAt: ExpiresAtSchema.nullable().optional(),
    ttlSeconds: TtlSecondsSchema.nullable().optional(),
  })
  .strict();

const ListSchema = z.object({ limit: z.number().int().min(1).max(1000).default(50), cursor: z.string().max(4096).nullable().optional() }).strict();

/** Input of SessionManager.create(). */
export interface CreateSessionInput<M> {
  userId: string;
  id?: string;
  metadata?: M;
  ttlSeconds?: number | null;
  expiresAt?: Date | null;
}

/** Input of SessionManager.update(). */
export interface UpdateSessionInput<M> {
  metadata?: M;
  mergeMetadata?: Partial<M>;
  touch?: boolean;
  expiresAt?: Date | null;
  ttlSeconds?: number | null;
}

// The column list is checked against the schema like the row it returns.
const SESSION_COLUMNS = ['tenant_id', 'id', 'user_id', 'metadata', 'created_at', 'updated_at', 'last_activity_at', 'expires_at'] as const satisfies readonly ColumnName<'sessions'>[];
type SessionRow = Row<'sessions', (typeof SESSION_COLUMNS)[number]>;
const COLUMNS = SESSION_COLUMNS.join(', ');
/** Live sessions only; `$3` is the application's clock. */
const LIVE = '(expires_at IS NULL OR expires_at > $3)';

/**
 * Creates, reads, updates, lists and expires sessions of one tenant. Expiry uses the application's
 * clock (expiresAt is computed here, compared here), so keep hosts' clocks in sync.
 */
export class SessionManager<M extends JsonObject = JsonObject> {
  readonly tenantId: string;
  readonly #db: CairnDb;
  readonly #executor: Executor;
  readonly #options: z.output<typeof SessionManagerOptionsSchema>;
  readonly #schema: z.ZodType<M>;
  readonly #cache: SessionCache | undefined;
  readonly #ownsCache: boolean;
  readonly #threadData: ThreadDataOwners | undefined;

  constructor(db: CairnDb, options: SessionManagerOptions<M> = {}, shared?: { cache: SessionCache | undefined }) {
    this.#db = db;
    this.#executor = poolExecutor(db);
    this.#options = parseInput(SessionManagerOptionsSchema, options, 'session manager options');
    this.#schema = (options.metadataSchema ?? JsonObjectSchema) as z.ZodType<M>;
    this.tenantId = this.#options.tenantId;
    this.#threadData = this.#options.threadData;
    this.#ownsCache = shared === undefined;
    this.#cache = shared ? shared.cache : this.#options.redis ? new RedisSessionCache(this.#options.redis, this.#options.cacheTtlSeconds) : undefined;
  }

  /** The same manager scoped to another tenant (sharing its cache). */
  forTenant(tenantId: string): SessionManager<M> {
    const tenant = parseInput(TenantIdSchema, tenantId, 'tenant id');
    return new SessionManager<M>(this.#db, { ...this.#options, tenantId: tenant, metadataSchema: this.#schema }, { cache: this.#cache });
  }

  /** Creates a session. DuplicateIdError if `id` is taken in this tenant. */
  async create(input: CreateSessionInput<M>): Promise<SessionRecord<M>> {
    const opts = parseInput(CreateSchema, input, 'session');
    const metadata = metadataForWrite(this.#schema, opts.metadata ?? {}, 'session metadata');
    const ttl = opts.ttlSeconds === undefined ? this.#options.defaultTtlSeconds : opts.ttlSeconds;
    const now = new Date();
    const expiresAt = opts.expiresAt !== undefined ? opts.expiresAt : ttl === null ? null : new Date(now.getTime() + ttl * 1000);
    const sessionId = opts.id ?? uuidv7();
    const { rows } = await this.#executor.write<SessionRow>(
      'session create',
      {
        text: `INSERT INTO sessions (${COLUMNS}) VALUES ($1, $2, $3, $4::jsonb, $5, $5, $5, $6) RETURNING ${COLUMNS}`,
        values: [this.tenantId, sessionId, opts.userId, JSON.stringify(metadata), now, expiresAt],
      },
      { mapError: (error) => (errorCode(error) === '23505' ? new DuplicateIdError('session', sessionId, { cause: error }) : error) },
    );
    // Absent sessions are never cached, but a deleted session with this id may still be.
    await this.#cache?.invalidate(this.#key(sessionId));
    this.#publish('session.updated', sessionId);
    return this.#fromRow(rows[0]!);
  }

  /** The session, or null if it does not exist or has expired. */
  async get(id: string): Promise<SessionRecord<M> | null> {
    const sessionId = parseInput(IdSchema, id, 'session id');
    const load = async () => {
      const { rows } = await this.#executor.read<SessionRow>('session get', {
        text: `SELECT ${COLUMNS} FROM sessions WHERE tenant_id = $1 AND id = $2 AND ${LIVE}`,
        values: [this.tenantId, sessionId, new Date()],
      });
      return rows[0] ? this.#toPlain(rows[0]) : null;
    };
    const plain = this.#cache
      ? await this.#cache.getOrLoad(this.#key(sessionId), load, (s) => this.#cacheTtl(s))
      : await load();
    // A cached copy may outlive the expiry by up to a second of TTL rounding: check again.
    if (!plain || (plain.expiresAt !== null && plain.expiresAt.getTime() <= Date.now())) return null;
    return { ...plain, metadata: metadataFromRow(this.#schema, plain.metadata, 'Session', plain.id) };
  }

  /** The session; SessionNotFoundError if it does not exist or has expired. */
  async require(id: string): Promise<SessionRecord<M>> {
    const session = await this.get(id);
    if (!session) throw new SessionNotFoundError(id);
    return session;
  }

  /**
   * Changes metadata (replace and/or shallow merge), last activity or expiry, atomically (the row
   * is locked while the new metadata is validated). SessionNotFoundError if missing or expired.
   */
  async update(id: string, changes: UpdateSessionInput<M>): Promise<SessionRecord<M>> {
    const sessionId = parseInput(IdSchema, id, 'session id');
    const opts = parseInput(UpdateSchema, changes, 'session update');
    const now = new Date();
    let updated: SessionRow;
    try {
      updated = await this.#db.transaction(
        async (client) => {
          const { rows } = await client.query<SessionRow>(`SELECT ${COLUMNS} FROM sessions WHERE tenant_id = $1 AND id = $2 AND ${LIVE} FOR UPDATE`, [
            this.tenantId,
            sessionId,
            now,
          ]);
          const row = rows[0];
          if (!row) throw new SessionNotFoundError(sessionId);
          let metadata = opts.metadata === undefined ? (row.metadata as JsonObject) : opts.metadata;
          if (opts.mergeMetadata) metadata = { ...metadata, ...opts.mergeMetadata };
          if (opts.metadata !== undefined || opts.mergeMetadata) metadata = metadataForWrite(this.#schema, metadata, 'session metadata');
          let lastActivityAt = row.last_activity_at;
          let expiresAt = row.expires_at;
          if (opts.touch) {
            lastActivityAt = now;
            if (this.#options.slidingExpiration && this.#options.defaultTtlSeconds !== null && row.expires_at !== null) {
              expiresAt = new Date(now.getTime() + this.#options.defaultTtlSeconds * 1000);
            }
          }
          if (opts.ttlSeconds !== undefined) expiresAt = opts.ttlSeconds === null ? null : new Date(now.getTime() + opts.ttlSeconds * 1000);
          if (opts.expiresAt !== undefined) expiresAt = opts.expiresAt;
          const result = await client.query<SessionRow>(
            `UPDATE sessions SET metadata = $3::jsonb, last_activity_at = $4, expires_at = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
            [this.tenantId, sessionId, JSON.stringify(metadata), lastActivityAt, expiresAt, now],
          );
          return result.rows[0]!;
        },
        { operation: 'session update' },
      );
    } finally {
      // Also after a failure: a COMMIT whose outcome is unknown may have changed the session.
      await this.#cache?.invalidate(this.#key(sessionId));
    }
    this.#publish('session.updated', sessionId);
    return this.#fromRow(updated);
  }

  /** Records activity now (and extends the expiry when slidingExpiration is on). */
  touch(id: string): Promise<SessionRecord<M>> {
    return this.update(id, { touch: true });
  }

  /**
   * Deletes the session, its threads and (through `threadData`) their checkpoints, in one
   * transaction. Returns false when there was no such session (expired sessions are deleted too).
   */
  async delete(id: string): Promise<boolean> {
    const sessionId = parseInput(IdSchema, id, 'session id');
    const [gone] = await this.#deleteSessions('session delete', (client) =>
      client.query<Row<'sessions', 'id'>>('SELECT id FROM sessions WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [this.tenantId, sessionId]),
    );
    await this.#cache?.invalidate(this.#key(sessionId));
    if (gone) this.#publish('session.deleted', sessionId);
    return gone !== undefined;
  }

  /**
   * Deletes the sessions `lock` selects (and locks), their threads and their threads' data, in one
   * transaction; then runs the data owner's after-commit work. Returns the deleted session ids.
   */
  async #deleteSessions(operation: string, lock: (client: pg.PoolClient) => Promise<{ rows: Array<Row<'sessions', 'id'>> }>): Promise<string[]> {
    const { ids, deletion } = await this.#db.transaction(
      async (client) => {
        const sessionIds = (await lock(client)).rows.map((r) => r.id);
        if (sessionIds.length === 0) return { ids: [], deletion: undefined };
        const threads = await client.query<Row<'threads', 'id'>>('DELETE FROM threads WHERE tenant_id = $1 AND session_id = ANY($2::text[]) RETURNING id', [
          this.tenantId,
          sessionIds,
        ]);
        const data = await deleteThreadData(
          this.#threadData,
          this.tenantId,
          client,
          threads.rows.map((r) => r.id),
        );
        await client.query('DELETE FROM sessions WHERE tenant_id = $1 AND id = ANY($2::text[])', [this.tenantId, sessionIds]);
        return { ids: sessionIds, deletion: data };
      },
      { operation },
    );
    await deletion?.afterCommit();
    return ids;
  }

  /** The user's live sessions, newest first, one page at a time. */
  async listByUser(userId: string, options: { limit?: number; cursor?: string | null } = {}): Promise<Page<SessionRecord<M>>> {
    const user = parseInput(IdSchema, userId, 'user id');
    const opts = parseInput(ListSchema, options, 'list options');
    const after = opts.cursor ? decodeCursor(opts.cursor, 'session:createdAt:desc') : undefined;
    const { rows } = await this.#executor.read<SessionRow>('session list', {
      text: `SELECT ${COLUMNS} FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND ${LIVE}
        AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::text))
        ORDER BY created_at DESC, id DESC LIMIT $6`,
      values: [this.tenantId, user, new Date(), after ? after.value : null, after ? after.id : null, opts.limit + 1],
    });
    const more = rows.length > opts.limit;
    const items = (more ? rows.slice(0, opts.limit) : rows).map((r) => this.#fromRow(r));
    const last = items.at(-1);
    return { items, nextCursor: more && last ? encodeCursor('session:createdAt:desc', last.createdAt.toISOString(), last.id) : null };
  }

  /**
   * Deletes every expired session of this tenant (with their threads and checkpoints), `batchSize`
   * sessions per statement. Returns how many sessions were removed. Safe to run from several
   * processes at once (rows being purged elsewhere are skipped).
   */
  async purgeExpired(options: { batchSize?: number } = {}): Promise<number> {
    const { batchSize } = parseInput(z.object({ batchSize: z.number().int().min(1).max(100_000).default(1000) }).strict(), options, 'purge options');
    let total = 0;
    for (;;) {
      const ids = await this.#deleteSessions('expired session purge', (client) =>
        client.query<Row<'sessions', 'id'>>(
          'SELECT id FROM sessions WHERE tenant_id = $1 AND expires_at <= $2 ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED',
          [this.tenantId, new Date(), batchSize],
        ),
      );
      total += ids.length;
      const cache = this.#cache;
      if (cache) await Promise.all(ids.map((sessionId) => cache.invalidate(this.#key(sessionId))));
      for (const sessionId of ids) this.#publish('session.expired', sessionId);
      if (ids.length < batchSize) return total;
    }
  }

  /** Releases the cache's resources, if this manager created them. Closes neither the database nor Redis. */
  async close(): Promise<void> {
    if (this.#ownsCache) await this.#cache?.close?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toJSON(): Record<string, unknown> {
    return { tenantId: this.tenantId, cached: this.#cache !== undefined };
  }

  #key(id: string): string {
    return composeCacheKey(this.tenantId, id);
  }

  #publish(type: 'session.updated' | 'session.deleted' | 'session.expired', sessionId: string): void {
    const event: CairnEvent = { type, tenantId: this.tenantId, sessionId };
    // At most once by the notifier's contract: a failed publish must not fail a committed write.
    this.#options.notifier?.forTenant(this.tenantId).publish(SESSION_EVENTS_CHANNEL, event).catch(() => undefined);
  }

  #cacheTtl(session: SessionRecord<JsonObject>): number {
    const max = this.#options.cacheTtlSeconds;
    if (session.expiresAt === null) return max;
    return Math.max(1, Math.min(max, Math.floor((session.expiresAt.getTime() - Date.now()) / 1000)));
  }

  #toPlain(row: SessionRow): SessionRecord<JsonObject> {
    return {
      tenantId: row.tenant_id,
      id: row.id,
      userId: row.user_id,
      metadata: row.metadata as JsonObject,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      lastActivityAt: row.last_activity_at,
      expiresAt: row.expires_at,
    };
  }

  #fromRow(row: SessionRow): SessionRecord<M> {
    const plain = this.#toPlain(row);
    return { ...plain, metadata: metadataFromRow(this.#schema, plain.metadata, 'Session', plain.id) };
  }
}
