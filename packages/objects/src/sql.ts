// The SQL behind collections. Hot paths are single statements sent as named (prepared) statements:
// a write is one CTE that changes `objects`, appends the `object_versions` row and, when retention
// is configured, prunes old versions, so history can never disagree with the current row.
// Every statement filters by tenant_id first; every value is a bind parameter.
import type { ColumnName, Row } from '@cairn/db';
import type pg from 'pg';

/** A row of `objects` as the load and find statements return it. */
export type ObjectRow = Row<'objects', 'id' | 'version' | 'data' | 'created_at' | 'updated_at'>;

/** What a write statement returns. */
export type WrittenRow = Row<'objects', 'version' | 'created_at' | 'updated_at'>;

/** An `object_versions` row as VERSIONS_SQL returns it (no data). */
export type VersionRow = Row<'object_versions', 'version' | 'operation' | 'created_at'>;

/** An `object_versions` row as LOAD_VERSION_SQL returns it. */
export type VersionDataRow = Row<'object_versions', 'version' | 'data' | 'operation' | 'created_at'>;

/**
 * How a write is conditioned:
 * - `upsert`: create or replace, whatever the current version;
 * - `create`: only if the object does not exist (expectedVersion 0);
 * - `expect`: only if the current version equals `$6` (expectedVersion N).
 */
export type WriteMode = 'upsert' | 'create' | 'expect';

// Parameters of every write: $1 tenant, $2 type, $3 id, $4 data (JSON text), $5 operation,
// then $6 expected version (mode `expect` only), then the number of versions to keep (retention only).
const WRITE_HEAD: Record<WriteMode, string> = {
  upsert: `INSERT INTO objects AS o (tenant_id, type, id, data, version, created_at, updated_at)
      VALUES ($1, $2, $3, $4::jsonb, 1, now(), now())
      ON CONFLICT (tenant_id, type, id) DO UPDATE SET data = EXCLUDED.data, version = o.version + 1, updated_at = now()
      RETURNING version, created_at, updated_at`,
  create: `INSERT INTO objects (tenant_id, type, id, data, version, created_at, updated_at)
      VALUES ($1, $2, $3, $4::jsonb, 1, now(), now())
      ON CONFLICT (tenant_id, type, id) DO NOTHING
      RETURNING version, created_at, updated_at`,
  expect: `UPDATE objects SET data = $4::jsonb, version = version + 1, updated_at = now()
      WHERE tenant_id = $1 AND type = $2 AND id = $3 AND version = $6
      RETURNING version, created_at, updated_at`,
};

function writeText(mode: WriteMode, retention: boolean): string {
  const keepParam = mode === 'expect' ? '$7' : '$6';
  return `WITH w AS (
    ${WRITE_HEAD[mode]}
  ), h AS (
    INSERT INTO object_versions (tenant_id, type, object_id, version, data, operation, created_at)
    SELECT $1, $2, $3, w.version, $4::jsonb, $5, w.updated_at FROM w
  )${
    retention
      ? `, p AS (
    DELETE FROM object_versions v USING w
    WHERE v.tenant_id = $1 AND v.type = $2 AND v.object_id = $3 AND v.version <= w.version - ${keepParam}::int
  )`
      : ''
  }
  SELECT version, created_at, updated_at FROM w`;
}

const WRITE_TEXTS = new Map<string, string>();

/** The prepared write statement for a mode, with or without retention. */
export function writeStatement(
  mode: WriteMode,
  params: { tenantId: string; type: string; id: string; json: string; operation: string; expectedVersion?: number; keepVersions: number | null },
): pg.QueryConfig {
  const retention = params.keepVersions !== null;
  const name = `cairn_objects_write_${mode}${retention ? '_keep' : ''}`;
  let text = WRITE_TEXTS.get(name);
  if (text === undefined) {
    text = writeText(mode, retention);
    WRITE_TEXTS.set(name, text);
  }
  const values: unknown[] = [params.tenantId, params.type, params.id, params.json, params.operation];
  if (mode === 'expect') values.push(params.expectedVersion);
  if (retention) values.push(params.keepVersions);
  return { name, text, values };
}

export const LOAD_SQL = {
  name: 'cairn_objects_load',
  text: 'SELECT id, version, data, created_at, updated_at FROM objects WHERE tenant_id = $1 AND type = $2 AND id = $3',
};

export const LOAD_FOR_UPDATE_SQL = {
  name: 'cairn_objects_load_for_update',
  text: 'SELECT id, version, data, created_at, updated_at FROM objects WHERE tenant_id = $1 AND type = $2 AND id = $3 FOR UPDATE',
};

export const VERSION_SQL = {
  name: 'cairn_objects_version',
  text: 'SELECT version FROM objects WHERE tenant_id = $1 AND type = $2 AND id = $3',
};

export const VERSION_FOR_UPDATE_SQL = {
  name: 'cairn_objects_version_for_update',
  text: 'SELECT version FROM objects WHERE tenant_id = $1 AND type = $2 AND id = $3 FOR UPDATE',
};

export const EXISTS_SQL = {
  name: 'cairn_objects_exists',
  text: 'SELECT EXISTS (SELECT 1 FROM objects WHERE tenant_id = $1 AND type = $2 AND id = $3) AS found',
};

// Deleting the object removes its history too (object_versions references objects ON DELETE CASCADE).
export const DELETE_SQL = {
  name: 'cairn_objects_delete',
  text: 'DELETE FROM objects WHERE tenant_id = $1 AND type = $2 AND id = $3 RETURNING version',
};

export const DELETE_EXPECT_SQL = {
  name: 'cairn_objects_delete_expect',
  text: 'DELETE FROM objects WHERE tenant_id = $1 AND type = $2 AND id = $3 AND version = $4 RETURNING version',
};

export const VERSIONS_SQL = {
  name: 'cairn_objects_versions',
  text: `SELECT version, operation, created_at FROM object_versions
    WHERE tenant_id = $1 AND type = $2 AND object_id = $3 AND version < $4
    ORDER BY version DESC LIMIT $5`,
};

export const LOAD_VERSION_SQL = {
  name: 'cairn_objects_load_version',
  text: `SELECT version, data, operation, created_at FROM object_versions
    WHERE tenant_id = $1 AND type = $2 AND object_id = $3 AND version = $4`,
};

/** Sort keys a listing may use, mapped to SQL that never comes from the caller. */
export const ORDER_COLUMNS = { updatedAt: 'updated_at', createdAt: 'created_at', id: 'id' } as const satisfies Record<string, ColumnName<'objects'>>;
