// Snapshots: every object of a tenant (or of some types) with its history, read in one
// REPEATABLE READ transaction so the export is a consistent point in time, and imported elsewhere
// in one transaction with versions and timestamps preserved, so export → import → export is exact.
// Both run through CairnDb.transaction: a transient failure before COMMIT runs them again from the
// start (neither has side effects outside the transaction), and what finally fails is typed.
import { z } from 'zod';
import type pg from 'pg';
import { IdSchema, JsonValueSchema, TenantIdSchema, idSchema, parseInput, type JsonValue } from '@cairn/core';
import type { CairnDb, Row } from '@cairn/db';
import { SnapshotConflictError } from './errors.js';
import { outcomeUnknown } from './executor.js';
import { TypeNameSchema } from './type-name.js';

/** Format tag written into every snapshot. */
export const SNAPSHOT_FORMAT = 'cairn.objects.snapshot/v1';

/** One version in a snapshot's history. */
export interface SnapshotVersion {
  version: number;
  operation: string;
  /** ISO 8601 (UTC, milliseconds). */
  createdAt: string;
  data: JsonValue;
}

/** One object in a snapshot. */
export interface SnapshotObject {
  type: string;
  id: string;
  version: number;
  data: JsonValue;
  createdAt: string;
  updatedAt: string;
  /** Oldest first. Absent when the snapshot was taken without history. */
  history?: SnapshotVersion[];
}

/** A point-in-time export of objects: plain JSON, safe to JSON.stringify and store anywhere. */
export interface ObjectSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  /** The tenant it was taken from. */
  tenantId: string;
  /** The database's clock at the snapshot's point in time. */
  takenAt: string;
  /** The types exported, or null for all of the tenant's objects. */
  types: string[] | null;
  /** Ordered by type, then id. */
  objects: SnapshotObject[];
}

// A snapshot is input like any other: every field must pass the rule of the column it lands in, so
// that an edited snapshot is a ValidationError naming the field, never PostgreSQL's refusal mid-import.
// Timestamps: ISO 8601, in years 1-9999 (timestamptz refuses year 0, which the ISO pattern allows).
const Timestamp = z.iso.datetime({ offset: true }).refine((value) => {
  const time = Date.parse(value);
  return !value.startsWith('0000') && time >= Date.parse('0001-01-01T00:00:00Z') && time <= Date.parse('9999-12-31T23:59:59.999Z');
}, 'must be a time in years 1-9999');
// Versions are int4 columns; operations a short text column (`save`, `update`, ... `import`).
const Version = z.number().int().min(1).max(2_147_483_647);
const Operation = idSchema({ maxBytes: 64 });
// Data is checked in place by core's JSON rule (depth without recursion, NUL, lone surrogates,
// __proto__ keys), never copied, so what was checked is what is inserted.
const SnapshotVersionSchema = z.object({ version: Version, operation: Operation, createdAt: Timestamp, data: JsonValueSchema }).strict();
const SnapshotObjectSchema = z
  .object({
    type: TypeNameSchema,
    id: IdSchema,
    version: Version,
    data: JsonValueSchema,
    createdAt: Timestamp,
    updatedAt: Timestamp,
    history: z.array(SnapshotVersionSchema).optional(),
  })
  .strict();

/** zod schema of a snapshot, used by importSnapshot(). */
export const ObjectSnapshotSchema = z
  .object({
    format: z.literal(SNAPSHOT_FORMAT),
    tenantId: TenantIdSchema,
    takenAt: Timestamp,
    types: z.array(TypeNameSchema).nullable(),
    objects: z.array(SnapshotObjectSchema),
  })
  .strict()
  .superRefine((snapshot, ctx) => {
    const seen = new Set<string>();
    snapshot.objects.forEach((object, i) => {
      const key = `${object.type}\u0000${object.id}`;
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['objects', i], message: `duplicate object ${object.type} ${JSON.stringify(object.id)}` });
      seen.add(key);
      const versions = new Set<number>();
      for (const entry of object.history ?? []) {
        if (versions.has(entry.version)) ctx.addIssue({ code: 'custom', path: ['objects', i, 'history'], message: `duplicate version ${entry.version}` });
        versions.add(entry.version);
      }
    });
  });

export const ExportOptionsSchema = z
  .object({
    /** Only these types; all of the tenant's objects when absent. */
    types: z.array(TypeNameSchema).min(1).optional(),
    /** Include every object's history. @defaultValue true */
    includeHistory: z.boolean().default(true),
  })
  .strict();

export const ImportOptionsSchema = z
  .object({
    /**
     * When an object already exists in the target tenant: `error` (import nothing), `skip` it,
     * or `overwrite` it (its current data and history are replaced). @defaultValue 'error'
     */
    onConflict: z.enum(['error', 'skip', 'overwrite']).default('error'),
  })
  .strict();

/** Options of exportSnapshot(). */
export type ExportOptions = z.input<typeof ExportOptionsSchema>;
/** Options of importSnapshot(). */
export type ImportOptions = z.input<typeof ImportOptionsSchema>;

/** What importSnapshot() did. */
export interface ImportResult {
  imported: number;
  skipped: number;
  versions: number;
}

const PAGE = 1000;

type ObjectExportRow = Row<'objects', 'type' | 'id' | 'version' | 'data' | 'created_at' | 'updated_at'>;

type VersionExportRow = Row<'object_versions', 'type' | 'object_id' | 'version' | 'data' | 'operation' | 'created_at'>;

/** @internal */
export async function exportSnapshot(db: CairnDb, tenantId: string, options: ExportOptions = {}): Promise<ObjectSnapshot> {
  const opts = parseInput(ExportOptionsSchema, options, 'export options');
  const types = opts.types ?? null;
  // REPEATABLE READ: every page below reads the same snapshot, whatever commits meanwhile. Read
  // only, so a COMMIT lost with its connection changed nothing: safe to run again.
  return db.transaction(async (client) => {
    const { rows: clock } = await client.query<{ now: Date }>('SELECT now() AS now');
    const objects: SnapshotObject[] = [];
    const byKey = new Map<string, SnapshotObject>();
    let after: [string, string] | null = null;
    for (;;) {
      const { rows } = await client.query<ObjectExportRow>({
        text: `SELECT type, id, version, data, created_at, updated_at FROM objects
          WHERE tenant_id = $1 AND ($2::text[] IS NULL OR type = ANY($2::text[])) AND ($3::text IS NULL OR (type, id) > ($3, $4))
          ORDER BY type, id LIMIT ${PAGE}`,
        values: [tenantId, types, after?.[0] ?? null, after?.[1] ?? null],
      });
      for (const row of rows) {
        const object: SnapshotObject = {
          type: row.type,
          id: row.id,
          version: row.version,
          data: row.data,
          createdAt: row.created_at.toISOString(),
          updatedAt: row.updated_at.toISOString(),
          ...(opts.includeHistory ? { history: [] } : {}),
        };
        objects.push(object);
        byKey.set(`${row.type}\u0000${row.id}`, object);
      }
      if (rows.length < PAGE) break;
      const last: ObjectExportRow = rows.at(-1)!;
      after = [last.type, last.id];
    }
    if (opts.includeHistory) {
      let cursor: [string, string, number] | null = null;
      for (;;) {
        const { rows } = await client.query<VersionExportRow>({
            text: `SELECT type, object_id, version, data, operation, created_at FROM object_versions
              WHERE tenant_id = $1 AND ($2::text[] IS NULL OR type = ANY($2::text[])) AND ($3::text IS NULL OR (type, object_id, version) > ($3, $4, $5::int))
              ORDER BY type, object_id, version LIMIT ${PAGE}`,
            values: [tenantId, types, cursor?.[0] ?? null, cursor?.[1] ?? null, cursor?.[2] ?? null],
          });
        for (const row of rows) {
          byKey.get(`${row.type}\u0000${row.object_id}`)?.history?.push({
            version: row.version,
            operation: row.operation,
            createdAt: row.created_at.toISOString(),
            data: row.data,
          });
        }
        if (rows.length < PAGE) break;
        const last: VersionExportRow = rows.at(-1)!;
        cursor = [last.type, last.object_id, last.version];
      }
    }
    return { format: SNAPSHOT_FORMAT, tenantId, takenAt: clock[0]!.now.toISOString(), types, objects };
  }, { isolation: 'repeatable read', readOnly: true, idempotent: true, operation: 'object snapshot export' });
}

/** The key of an object in a cache. */
export type ObjectKey = readonly [tenantId: string, type: string, id: string];

/**
 * @internal Imports `snapshot` into `tenantId` in one transaction, then hands the objects it wrote
 * to `invalidate` (their cached copies are stale). When the COMMIT's outcome is unknown, every
 * object of the snapshot is handed over.
 */
export async function importSnapshot(
  db: CairnDb,
  tenantId: string,
  snapshot: unknown,
  options: ImportOptions = {},
  invalidate: (keys: readonly ObjectKey[]) => Promise<void> = async () => undefined,
): Promise<ImportResult> {
  const parsed = parseInput(ObjectSnapshotSchema, snapshot, 'snapshot');
  const opts = parseInput(ImportOptionsSchema, options, 'import options');
  let written: ObjectKey[];
  let result: ImportResult;
  try {
    // Not idempotent: after a lost COMMIT, a second run would find its own objects (a conflict, or skips).
    [result, written] = await db.transaction(async (client) => importInto(client, tenantId, parsed, opts), { operation: 'object snapshot import' });
  } catch (error) {
    if (outcomeUnknown(error)) await invalidate(parsed.objects.map((o) => [tenantId, o.type, o.id] as const));
    throw error;
  }
  await invalidate(written);
  return result;
}

async function importInto(
  client: pg.ClientBase,
  tenantId: string,
  parsed: z.output<typeof ObjectSnapshotSchema>,
  opts: z.output<typeof ImportOptionsSchema>,
): Promise<[ImportResult, ObjectKey[]]> {
  const result: ImportResult = { imported: 0, skipped: 0, versions: 0 };
  const written: ObjectKey[] = [];
  for (let start = 0; start < parsed.objects.length; start += PAGE) {
    const chunk = parsed.objects.slice(start, start + PAGE);
    if (opts.onConflict === 'overwrite') {
      await client.query({
        text: `DELETE FROM objects WHERE tenant_id = $1 AND (type, id) IN (SELECT * FROM unnest($2::text[], $3::text[]))`,
        values: [tenantId, chunk.map((o) => o.type), chunk.map((o) => o.id)],
      });
    }
    const { rows } = await client.query<Row<'objects', 'type' | 'id'>>({
      text: `INSERT INTO objects (tenant_id, type, id, data, version, created_at, updated_at)
        SELECT $1, x.type, x.id, x.data, x.version, x.created_at, x.updated_at
        FROM jsonb_to_recordset($2::jsonb) AS x(type text, id text, data jsonb, version int, created_at timestamptz, updated_at timestamptz)
        ON CONFLICT (tenant_id, type, id) DO NOTHING
        RETURNING type, id`,
      values: [
        tenantId,
        JSON.stringify(chunk.map((o) => ({ type: o.type, id: o.id, data: o.data, version: o.version, created_at: o.createdAt, updated_at: o.updatedAt }))),
      ],
    });
    const inserted = new Set(rows.map((r) => `${r.type}\u0000${r.id}`));
    const fresh = chunk.filter((o) => inserted.has(`${o.type}\u0000${o.id}`));
    if (fresh.length < chunk.length) {
      const existing = chunk.find((o) => !inserted.has(`${o.type}\u0000${o.id}`))!;
      if (opts.onConflict === 'error') throw new SnapshotConflictError(existing.type, existing.id);
      result.skipped += chunk.length - fresh.length;
    }
    result.imported += fresh.length;
    for (const o of fresh) written.push([tenantId, o.type, o.id]);
    // An object exported without history still gets the version row every stored object has.
    const history = fresh.flatMap((o) =>
      (o.history ?? [{ version: o.version, operation: 'import', createdAt: o.updatedAt, data: o.data }]).map((v) => ({
        type: o.type,
        object_id: o.id,
        version: v.version,
        data: v.data,
        operation: v.operation,
        created_at: v.createdAt,
      })),
    );
    for (let h = 0; h < history.length; h += PAGE) {
      const part = history.slice(h, h + PAGE);
      await client.query({
        text: `INSERT INTO object_versions (tenant_id, type, object_id, version, data, operation, created_at)
          SELECT $1, x.type, x.object_id, x.version, x.data, x.operation, x.created_at
          FROM jsonb_to_recordset($2::jsonb) AS x(type text, object_id text, version int, data jsonb, operation text, created_at timestamptz)`,
        values: [tenantId, JSON.stringify(part)],
      });
      result.versions += part.length;
    }
  }
  return [result, written];
}
