// The SQL of PostgresCheckpointer. Each operation is one statement (one round trip), sent as a
// named prepared statement so PostgreSQL parses and plans it once per connection. Statement text
// is assembled only from the fixed fragments below, never from input; values are always `$n`
// parameters, and every statement filters by tenant_id first.
//
// Lookups by primary key are written as "the greatest id <= x, then check it is x"
// (`checkpoint_id <= $x ORDER BY checkpoint_id DESC LIMIT 1`): on a table without statistics yet
// (a new deployment) the planner otherwise ties the primary key with the (tenant_id, thread_id,
// checkpoint_ns, parent) index, and a generic plan cached per connection then filters a whole
// thread on every put. Only the primary key can serve this form.
//
// Parents are locked like a foreign key's: every put takes FOR KEY SHARE on the parent it resolves
// (the latest, or a named one), held until it commits, and retention locks what it deletes FOR
// UPDATE SKIP LOCKED, then re-reads their children in a second statement (PRUNE_LOCK_SQL,
// PRUNE_CHILDREN_SQL). A put therefore either commits while its parent still exists, and the prune
// keeps that parent, or finds it deleted and writes nothing. When the locked row turns out to be
// gone (deleted while the put waited), the statement writes nothing and says so: a named parent
// is then missing (CheckpointNotFoundError), a latest one is looked up again (the put retries).

import { createHash } from 'node:crypto';
import type { ColumnName } from '@cairn/db';

/** A named statement. */
export interface Statement {
  name: string;
  text: string;
}

// Each statement's text is assembled once per process, the first time its name is asked for: the
// put and get paths would otherwise build kilobytes of SQL on every call.
const statements = new Map<string, Statement>();
function statement(name: string, text: () => string): Statement {
  let found = statements.get(name);
  if (!found) {
    found = { name, text: text() };
    statements.set(name, found);
  }
  return found;
}

/** The checkpoint columns every read returns, checked against the schema (the row type is built from this list). */
export const CHECKPOINT_COLUMNS = [
  'thread_id',
  'checkpoint_ns',
  'checkpoint_id',
  'parent_checkpoint_id',
  'step',
  'state',
  'state_format',
  'metadata',
  'created_at',
] as const satisfies readonly ColumnName<'checkpoints'>[];

/** Columns of a checkpoint row plus its pending writes as parallel arrays, in replay order. */
const ROW_COLUMNS = `${CHECKPOINT_COLUMNS.map((column) => `c.${column}`).join(', ')},
  w.task_ids, w.task_paths, w.idxs, w.channels, w.vals, w.formats`;

// Writes replay in (task_path, task_id, idx) order by code point: COLLATE "C" whatever the database collation.
const WRITES_LATERAL = `LEFT JOIN LATERAL (
  SELECT array_agg(x.task_id) AS task_ids, array_agg(x.task_path) AS task_paths, array_agg(x.idx) AS idxs,
         array_agg(x.channel) AS channels, array_agg(x.value) AS vals, array_agg(x.value_format) AS formats
  FROM (
    SELECT x.task_id, x.task_path, x.idx, x.channel, x.value, x.value_format FROM checkpoint_writes x
    WHERE x.tenant_id = c.tenant_id AND x.thread_id = c.thread_id AND x.checkpoint_ns = c.checkpoint_ns AND x.checkpoint_id = c.checkpoint_id
    ORDER BY x.task_path COLLATE "C", x.task_id COLLATE "C", x.idx
  ) x
) w ON true`;

/** get: latest (no id) or by id. $1 tenant, $2 thread, $3 namespace, [$4 id]. */
export function getSql(byId: boolean): Statement {
  return statement(byId ? 'cairn_cp_get_id' : 'cairn_cp_get_latest', () => `SELECT ${ROW_COLUMNS}
FROM checkpoints c ${WRITES_LATERAL}
WHERE c.tenant_id = $1 AND c.thread_id = $2 AND c.checkpoint_ns = $3${byId ? ' AND c.checkpoint_id <= $4' : ''}
ORDER BY c.checkpoint_id DESC LIMIT 1`);
}

/** Which optional filters a list query has; each combination is its own prepared statement. */
export interface ListShape {
  thread: boolean;
  namespace: boolean;
  checkpointId: boolean;
  before: boolean;
  after: boolean;
  /** The compiled metadata filter (@cairn/db's compileFilter), its placeholders after the limit's. */
  metadata: string | undefined;
  order: 'asc' | 'desc';
}

/** list: $1 tenant, then the present filters in ListShape order, then the limit, then the metadata filter's values. */
export function listSql(shape: ListShape): Statement {
  const flags = [shape.thread, shape.namespace, shape.checkpointId, shape.before, shape.after, shape.metadata !== undefined].map((f) => (f ? '1' : '0')).join('');
  // A compiled filter holds placeholders, never values: its text names the statement, so each
  // shape of filter is prepared once per connection.
  const filter = shape.metadata === undefined ? '' : `_${createHash('sha256').update(shape.metadata).digest('hex').slice(0, 16)}`;
  return statement(`cairn_cp_list_${flags}_${shape.order}${filter}`, () => {
    const where = ['c.tenant_id = $1'];
    let n = 1;
    const add = (present: boolean, clause: (p: string) => string) => {
      if (present) where.push(clause(`$${++n}`));
    };
    add(shape.thread, (p) => `c.thread_id = ${p}`);
    add(shape.namespace, (p) => `c.checkpoint_ns = ${p}`);
    add(shape.checkpointId, (p) => `c.checkpoint_id = ${p}`);
    add(shape.before, (p) => `c.checkpoint_id < ${p}`);
    add(shape.after, (p) => `c.checkpoint_id > ${p}`);
    if (shape.metadata !== undefined) where.push(shape.metadata);
    const dir = shape.order === 'desc' ? 'DESC' : 'ASC';
    // Across namespaces or threads, ties on the id are broken so the order is stable.
    const order = shape.thread && shape.namespace ? `c.checkpoint_id ${dir}` : `c.checkpoint_id ${dir}, c.thread_id, c.checkpoint_ns`;
    return `SELECT ${ROW_COLUMNS}
FROM (SELECT * FROM checkpoints c WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT $${n + 1}) c ${WRITES_LATERAL}
ORDER BY ${order}`;
  });
}

/** The shape of an insert. */
export interface InsertShape {
  /** One row with scalar parameters (binary bytea, no arrays) vs. unnest over arrays. */
  single: boolean;
  replace: boolean;
  withWrites: boolean;
  cas: boolean;
}

/**
 * put / putMany / putRaw in one statement: resolves each row's parent (the thread's latest, or a
 * named one, locked FOR KEY SHARE) and step, checks for existing ids and missing parents, and
 * inserts the rows and their writes only when there is no problem, so a batch is written whole or
 * not at all. A named parent deleted while the statement waited for its lock is missing even when
 * the parent is not required (it existed when the put started: writing its child would leave the
 * child's chain broken); a latest one deleted meanwhile is reported as `vanished` (retry).
 *
 * Parameters: $1 tenant, $2 require_parent, $3 cas expected latest id, then per row (arrays unless
 * single): $4 thread, $5 namespace, $6 id, $7 parent id, $8 parent is latest, $9 step base is latest,
 * $10 step base id, $11 step, $12 step offset, $13 state, $14 state format, $15 metadata (json text),
 * $16 created_at; with writes, $17.. thread, namespace, checkpoint id, task, path, idx, channel, value, format arrays.
 */
export function insertSql(shape: InsertShape): Statement {
  const name = `cairn_cp_insert_${shape.single ? 's' : 'm'}${shape.replace ? 'r' : 'e'}${shape.withWrites ? 'w' : ''}${shape.cas ? 'c' : ''}`;
  return statement(name, () => insertText(shape));
}

function insertText(shape: InsertShape): string {
  const input = shape.single
    ? `SELECT $4::text AS thread_id, $5::text AS checkpoint_ns, $6::text AS checkpoint_id, $7::text AS parent_id, $8::bool AS parent_latest,
        $9::bool AS base_latest, $10::text AS base_id, $11::int AS step, $12::int AS step_offset, $13::bytea AS state, $14::text AS state_format,
        $15::jsonb AS metadata, $16::timestamptz AS created_at, 1::bigint AS ord`
    : `SELECT * FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::bool[], $9::bool[], $10::text[], $11::int[], $12::int[],
        $13::bytea[], $14::text[], $15::jsonb[], $16::timestamptz[])
        WITH ORDINALITY AS t(thread_id, checkpoint_ns, checkpoint_id, parent_id, parent_latest, base_latest, base_id, step, step_offset, state, state_format, metadata, created_at, ord)`;
  const exists = shape.replace
    ? 'false AS exists_already'
    : `COALESCE((SELECT e.checkpoint_id FROM checkpoints e WHERE e.tenant_id = $1 AND e.thread_id = i.thread_id AND e.checkpoint_ns = i.checkpoint_ns
        AND e.checkpoint_id <= i.checkpoint_id ORDER BY e.checkpoint_id DESC LIMIT 1) = i.checkpoint_id, false) AS exists_already`;
  const onConflict = shape.replace
    ? `ON CONFLICT (tenant_id, thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET parent_checkpoint_id = EXCLUDED.parent_checkpoint_id,
        step = EXCLUDED.step, state = EXCLUDED.state, state_format = EXCLUDED.state_format, metadata = EXCLUDED.metadata`
    : '';
  const writes = shape.withWrites
    ? `, wins AS (
  INSERT INTO checkpoint_writes (tenant_id, thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, value, value_format)
  SELECT $1, w.* FROM unnest($17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::int[], $23::text[], $24::bytea[], $25::text[])
    AS w(thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, value, value_format), problems p
  WHERE p.conflicts = 0 AND p.missing = 0 AND NOT p.moved AND p.vanished = 0
  ON CONFLICT (tenant_id, thread_id, checkpoint_ns, checkpoint_id, task_id, idx) DO UPDATE SET task_path = EXCLUDED.task_path,
    channel = EXCLUDED.channel, value = EXCLUDED.value, value_format = EXCLUDED.value_format
)`
    : '';
  const text = `WITH input AS (${input}),
resolved AS (
  SELECT i.*,
    CASE WHEN i.parent_latest THEN lat.checkpoint_id ELSE i.parent_id END AS parent,
    COALESCE(i.step, COALESCE(CASE WHEN i.base_latest THEN lat.step ELSE bid.step END + 1, 0) + i.step_offset) AS final_step,
    (i.base_id IS NOT NULL AND bid.checkpoint_id IS NULL AND ($2::bool OR COALESCE((SELECT v.checkpoint_id FROM checkpoints v
      WHERE v.tenant_id = $1 AND v.thread_id = i.thread_id AND v.checkpoint_ns = i.checkpoint_ns AND v.checkpoint_id <= i.base_id
      ORDER BY v.checkpoint_id DESC LIMIT 1) = i.base_id, false))) AS missing_parent,
    ((i.parent_latest OR i.base_latest) AND lat.checkpoint_id IS NULL AND EXISTS (SELECT 1 FROM checkpoints v
      WHERE v.tenant_id = $1 AND v.thread_id = i.thread_id AND v.checkpoint_ns = i.checkpoint_ns)) AS latest_vanished,
    ${shape.cas ? '(i.ord = 1 AND lat.checkpoint_id IS DISTINCT FROM $3::text)' : '($3::text IS NOT NULL AND false)'} AS moved,
    lat.checkpoint_id AS latest_id,
    ${exists}
  FROM input i
  LEFT JOIN LATERAL (
    SELECT l.checkpoint_id, l.step FROM checkpoints l
    WHERE (i.parent_latest OR i.base_latest${shape.cas ? ' OR i.ord = 1' : ''}) AND l.tenant_id = $1 AND l.thread_id = i.thread_id AND l.checkpoint_ns = i.checkpoint_ns
    ORDER BY l.checkpoint_id DESC LIMIT 1
    FOR KEY SHARE
  ) lat ON true
  LEFT JOIN LATERAL (
    SELECT b.checkpoint_id, b.step FROM checkpoints b
    WHERE b.tenant_id = $1 AND b.thread_id = i.thread_id AND b.checkpoint_ns = i.checkpoint_ns AND b.checkpoint_id <= i.base_id
    ORDER BY b.checkpoint_id DESC LIMIT 1
    FOR KEY SHARE
  ) bid0 ON i.base_id IS NOT NULL
  CROSS JOIN LATERAL (SELECT CASE WHEN bid0.checkpoint_id = i.base_id THEN bid0.checkpoint_id END AS checkpoint_id, bid0.step) bid
),
problems AS (
  SELECT count(*) FILTER (WHERE exists_already) AS conflicts,
         count(*) FILTER (WHERE missing_parent) AS missing,
         count(*) FILTER (WHERE latest_vanished) AS vanished,
         coalesce(bool_or(moved), false) AS moved,
         (array_agg(checkpoint_id) FILTER (WHERE exists_already))[1] AS conflict_id,
         (array_agg(thread_id) FILTER (WHERE exists_already))[1] AS conflict_thread,
         (array_agg(base_id) FILTER (WHERE missing_parent))[1] AS missing_id,
         (array_agg(thread_id) FILTER (WHERE missing_parent))[1] AS missing_thread,
         (array_agg(checkpoint_ns) FILTER (WHERE missing_parent))[1] AS missing_ns,
         (array_agg(latest_id) FILTER (WHERE ord = 1))[1] AS latest_id
  FROM resolved
),
ins AS (
  INSERT INTO checkpoints (tenant_id, thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, step, state, state_format, metadata, created_at)
  SELECT $1, r.thread_id, r.checkpoint_ns, r.checkpoint_id, r.parent, r.final_step, r.state, r.state_format, r.metadata, COALESCE(r.created_at, now())
  FROM resolved r, problems p
  WHERE p.conflicts = 0 AND p.missing = 0 AND NOT p.moved AND p.vanished = 0
  ${onConflict}
  RETURNING 1
)${writes}
SELECT p.conflicts::int AS conflicts, p.missing::int AS missing, p.vanished::int AS vanished, p.moved, p.conflict_id, p.conflict_thread, p.missing_id, p.missing_thread, p.missing_ns,
       p.latest_id, (SELECT count(*) FROM ins)::int AS inserted
FROM problems p`;
  return text;
}

/**
 * putWrites: $1 tenant, $2 thread, $3 namespace, $4 checkpoint id, $5 require checkpoint,
 * $6.. task, path, idx, channel, value, format arrays. Returns whether the checkpoint exists.
 */
export function writesSql(mode: 'replace' | 'ignore' | 'upsert'): Statement {
  return statement(`cairn_cp_writes_${mode}`, () => writesText(mode));
}

function writesText(mode: 'replace' | 'ignore' | 'upsert'): string {
  const conflict =
    mode === 'ignore'
      ? 'DO NOTHING'
      : 'DO UPDATE SET task_path = EXCLUDED.task_path, channel = EXCLUDED.channel, value = EXCLUDED.value, value_format = EXCLUDED.value_format';
  const del =
    mode === 'replace'
      ? `, del AS (
  DELETE FROM checkpoint_writes x USING target t
  WHERE x.tenant_id = $1 AND x.thread_id = $2 AND x.checkpoint_ns = $3 AND x.checkpoint_id = $4 AND t.writable
    AND x.task_id = ANY($6::text[]) AND NOT EXISTS (SELECT 1 FROM input i WHERE i.task_id = x.task_id AND i.idx = x.idx)
)`
      : '';
  // The checkpoint is locked FOR KEY SHARE like a put's parent, so retention cannot delete it
  // between this lookup and the commit (which would leave the writes orphaned). A checkpoint that
  // need not exist and does not is accepted; one the snapshot has but the lock found deleted (by a
  // prune this statement waited for) is not, and nothing is written.
  return `WITH target AS (
  SELECT found, found OR NOT ($5::bool OR COALESCE((SELECT v.checkpoint_id FROM checkpoints v WHERE v.tenant_id = $1 AND v.thread_id = $2
    AND v.checkpoint_ns = $3 AND v.checkpoint_id <= $4 ORDER BY v.checkpoint_id DESC LIMIT 1) = $4, false)) AS writable
  FROM (SELECT COALESCE((SELECT c.checkpoint_id FROM checkpoints c WHERE c.tenant_id = $1 AND c.thread_id = $2 AND c.checkpoint_ns = $3 AND c.checkpoint_id <= $4
    ORDER BY c.checkpoint_id DESC LIMIT 1 FOR KEY SHARE) = $4, false) AS found) f
),
input AS (
  SELECT * FROM unnest($6::text[], $7::text[], $8::int[], $9::text[], $10::bytea[], $11::text[]) AS w(task_id, task_path, idx, channel, value, value_format)
)${del},
ins AS (
  INSERT INTO checkpoint_writes (tenant_id, thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, value, value_format)
  SELECT $1, $2, $3, $4, i.task_id, i.task_path, i.idx, i.channel, i.value, i.value_format FROM input i, target t WHERE t.writable
  ON CONFLICT (tenant_id, thread_id, checkpoint_ns, checkpoint_id, task_id, idx) ${conflict}
)
SELECT found, writable FROM target`;
}

/**
 * history: $1 tenant, $2 thread, $3 namespace, $4 limit, [$5 id]. Follows forks into their source
 * thread. Every step is a LATERAL primary-key lookup (LIMIT 1), so the plan is a nested loop of
 * index probes whatever the statistics say: before a first ANALYZE the planner chose a hash join
 * over a sequential scan of the tenant for each step of the walk.
 */
export function historySql(byId: boolean): Statement {
  const forked = `ch.metadata->'forkedFrom'->>'checkpointId' = ch.parent_checkpoint_id`;
  return statement(byId ? 'cairn_cp_history_id' : 'cairn_cp_history_latest', () => `WITH RECURSIVE chain AS (
  SELECT s.*, 1 AS depth FROM (
    SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id, c.metadata FROM checkpoints c
    WHERE c.tenant_id = $1 AND c.thread_id = $2 AND c.checkpoint_ns = $3${byId ? ' AND c.checkpoint_id <= $5' : ''}
    ORDER BY c.checkpoint_id DESC LIMIT 1
  ) s${byId ? ' WHERE s.checkpoint_id = $5' : ''}
  UNION ALL
  SELECT p.thread_id, p.checkpoint_ns, p.checkpoint_id, p.parent_checkpoint_id, p.metadata, ch.depth + 1
  FROM chain ch CROSS JOIN LATERAL (
    SELECT p.thread_id, p.checkpoint_ns, p.checkpoint_id, p.parent_checkpoint_id, p.metadata FROM checkpoints p
    WHERE p.tenant_id = $1
      AND p.thread_id = CASE WHEN ${forked} THEN ch.metadata->'forkedFrom'->>'threadId' ELSE ch.thread_id END
      AND p.checkpoint_ns = CASE WHEN ${forked} THEN ch.metadata->'forkedFrom'->>'namespace' ELSE ch.checkpoint_ns END
      AND p.checkpoint_id = ch.parent_checkpoint_id
    LIMIT 1
  ) p
  WHERE ch.depth < $4
)
SELECT ${ROW_COLUMNS}
FROM chain ch
CROSS JOIN LATERAL (
  SELECT * FROM checkpoints c
  WHERE c.tenant_id = $1 AND c.thread_id = ch.thread_id AND c.checkpoint_ns = ch.checkpoint_ns AND c.checkpoint_id = ch.checkpoint_id
  LIMIT 1
) c
${WRITES_LATERAL}
ORDER BY ch.depth`);
}

/** delete one: $1 tenant, $2 thread, $3 namespace, $4 id. */
export const DELETE_SQL = {
  name: 'cairn_cp_delete',
  text: `WITH w AS (
  DELETE FROM checkpoint_writes WHERE tenant_id = $1 AND thread_id = $2 AND checkpoint_ns = $3 AND checkpoint_id = $4
), c AS (
  DELETE FROM checkpoints WHERE tenant_id = $1 AND thread_id = $2 AND checkpoint_ns = $3 AND checkpoint_id = $4 AND ctid = (
    SELECT k.ctid FROM checkpoints k WHERE k.tenant_id = $1 AND k.thread_id = $2 AND k.checkpoint_ns = $3 AND k.checkpoint_id <= $4
    ORDER BY k.checkpoint_id DESC LIMIT 1)
  RETURNING 1
)
SELECT count(*)::int AS deleted FROM c`,
};

/** delete a thread: $1 tenant, $2 thread. */
export const DELETE_THREAD_SQL = {
  name: 'cairn_cp_delete_thread',
  text: `WITH w AS (
  DELETE FROM checkpoint_writes WHERE tenant_id = $1 AND thread_id = $2
), c AS (
  DELETE FROM checkpoints WHERE tenant_id = $1 AND thread_id = $2 RETURNING 1
)
SELECT count(*)::int AS deleted FROM c`,
};

/** Deletes several threads' checkpoints and writes inside a caller's transaction: $1 tenant, $2 thread ids. */
export const DELETE_THREADS_SQL = `WITH w AS (
  DELETE FROM checkpoint_writes WHERE tenant_id = $1 AND thread_id = ANY($2::text[])
), c AS (
  DELETE FROM checkpoints WHERE tenant_id = $1 AND thread_id = ANY($2::text[]) RETURNING 1
)
SELECT count(*)::int AS deleted FROM c`;

/** fork: $1 tenant, $2 thread, $3 namespace, $4 id, $5 new thread, $6 new id, $7 metadata or null. */
export const FORK_SQL = {
  name: 'cairn_cp_fork',
  text: `WITH src AS (
  SELECT * FROM (SELECT * FROM checkpoints WHERE tenant_id = $1 AND thread_id = $2 AND checkpoint_ns = $3 AND checkpoint_id <= $4
    ORDER BY checkpoint_id DESC LIMIT 1) k WHERE k.checkpoint_id = $4
), busy AS (
  SELECT EXISTS (SELECT 1 FROM checkpoints WHERE tenant_id = $1 AND thread_id = $5) AS busy
), ins AS (
  INSERT INTO checkpoints (tenant_id, thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, step, state, state_format, metadata)
  SELECT $1, $5, s.checkpoint_ns, $6, s.checkpoint_id, s.step + 1, s.state, s.state_format,
    COALESCE($7::jsonb, s.metadata) || jsonb_build_object('forkedFrom', jsonb_build_object('threadId', $2::text, 'namespace', $3::text, 'checkpointId', $4::text))
  FROM src s, busy b WHERE NOT b.busy
  RETURNING 1
)
SELECT (SELECT count(*) FROM src)::int AS found, (SELECT busy FROM busy) AS busy`,
};

/** thread ids: $1 tenant, $2 after (or null), $3 limit. */
/**
 * Thread ids of a tenant after $2, $3 of them: a skip scan (one index probe per distinct thread,
 * stopping after $3) instead of a DISTINCT over every checkpoint of the tenant.
 */
export const THREAD_IDS_SQL = {
  name: 'cairn_cp_thread_ids',
  text: `WITH RECURSIVE t AS (
  (SELECT thread_id FROM checkpoints WHERE tenant_id = $1 AND ($2::text IS NULL OR thread_id > $2) ORDER BY thread_id LIMIT 1)
  UNION ALL
  SELECT (SELECT c.thread_id FROM checkpoints c WHERE c.tenant_id = $1 AND c.thread_id > t.thread_id ORDER BY c.thread_id LIMIT 1)
  FROM t WHERE t.thread_id IS NOT NULL
)
SELECT thread_id FROM t WHERE thread_id IS NOT NULL LIMIT $3`,
};

/**
 * retention, read side: $1 tenant, $2 thread. What the rules need of each checkpoint of one thread
 * (one index range scan of the primary key), with the server's clock for maxAgeDays (created_at is
 * the server's too). The rules themselves run in retention.ts, the one implementation both backends use.
 */
export const PRUNE_ROWS_SQL = {
  name: 'cairn_cp_prune_rows',
  text: `SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, created_at, now() AS now
FROM checkpoints WHERE tenant_id = $1 AND thread_id = $2`,
};

// The three statements of a retention batch are sent unnamed, planned for the arrays they get:
// they run once per 5,000 checkpoints, and the generic plan a named statement switches to after
// five runs probed the whole thread through the parent index for each row on a table without
// statistics yet (over 30 s for one batch of a 100k-checkpoint thread).

/**
 * retention, first statement of a batch's transaction: $1 tenant, $2 thread, $3 namespaces, $4 ids.
 * Locks the batch's rows FOR UPDATE and returns those it locked, with their parent and ctid (stable
 * while locked). A row a running put holds FOR KEY SHARE (its parent) is skipped, never waited
 * for, so retention and puts cannot deadlock, and it stays until a later run. From here on a put
 * that branches from a locked row waits for this transaction, then finds the row deleted, or not.
 */
export const PRUNE_LOCK_SQL = `SELECT c.ctid::text AS ctid, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id
FROM unnest($3::text[], $4::text[]) AS d(ns, id)
JOIN checkpoints c ON c.tenant_id = $1 AND c.thread_id = $2 AND c.checkpoint_ns = d.ns AND c.checkpoint_id = d.id
FOR UPDATE OF c SKIP LOCKED`;

/**
 * retention, second statement (when ancestors are kept): $1 tenant, $2 thread, $3 namespaces,
 * $4 ids of the locked rows. Their children as of now: a statement of its own, so its snapshot is
 * taken after the locks and sees every child committed before them (later ones wait for the locks).
 */
export const PRUNE_CHILDREN_SQL = `SELECT c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id
FROM unnest($3::text[], $4::text[]) AS d(ns, id)
JOIN checkpoints c ON c.tenant_id = $1 AND c.thread_id = $2 AND c.checkpoint_ns = d.ns AND c.parent_checkpoint_id = d.id`;

/** retention, last statement: $1 tenant, $2 thread, $3 ctids of locked rows to delete, with their writes. */
export const PRUNE_DELETE_SQL = `WITH gone AS (
  DELETE FROM checkpoints c
  WHERE c.ctid = ANY($3::tid[]) AND c.tenant_id = $1 AND c.thread_id = $2
  RETURNING c.checkpoint_ns, c.checkpoint_id
), w AS (
  DELETE FROM checkpoint_writes x USING gone g
  WHERE x.tenant_id = $1 AND x.thread_id = $2 AND x.checkpoint_ns = g.checkpoint_ns AND x.checkpoint_id = g.checkpoint_id
)
SELECT count(*)::int AS deleted FROM gone`;

/** How the parent of a single put is given: the thread's latest, an explicit id, or none (a root). */
export type SimpleParent = 'latest' | 'id' | 'root';

/**
 * The common single put, as close to a plain INSERT as the semantics allow: one row, no writes,
 * no optimistic check, and either a fresh id (no conflict possible) or overwrite mode. Each parent
 * kind has its own statement, so only the lookup it needs is planned and run; the parent it finds
 * is locked FOR KEY SHARE. Nothing is returned: the command's row count is the answer (0: a
 * required parent is missing, or the parent was deleted while the put waited for its lock), which
 * spares the server a result row and the driver a row description per put.
 *
 * $1 tenant, $2 thread, $3 namespace, $4 id, $5 step (or null: derived from the parent), $6 state,
 * $7 state format, $8 metadata, $9 created_at (or null: now()); with an explicit parent, $10 its
 * id and $11 whether it must exist.
 */
export function simpleInsertSql(parent: SimpleParent, replace: boolean): Statement {
  return statement(`cairn_cp_put_${parent}${replace ? '_replace' : ''}`, () => simpleInsertText(parent, replace));
}

function simpleInsertText(parent: SimpleParent, replace: boolean): string {
  const columns = 'INSERT INTO checkpoints (tenant_id, thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, step, state, state_format, metadata, created_at)';
  const rest = '$6, $7, $8::jsonb, COALESCE($9::timestamptz, now())';
  const source = {
    root: `VALUES ($1, $2, $3, $4, NULL, COALESCE($5::int, 0), ${rest})`,
    // No latest: a thread's first checkpoint, unless the latest was deleted while the put waited
    // for its lock (the snapshot still has a row), and then nothing is written.
    latest: `SELECT $1, $2, $3, $4, l.checkpoint_id, COALESCE($5::int, l.step + 1, 0), ${rest}
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT x.checkpoint_id, x.step FROM checkpoints x
  WHERE x.tenant_id = $1 AND x.thread_id = $2 AND x.checkpoint_ns = $3
  ORDER BY x.checkpoint_id DESC LIMIT 1
  FOR KEY SHARE
) l ON true
WHERE l.checkpoint_id IS NOT NULL OR NOT EXISTS (SELECT 1 FROM checkpoints z WHERE z.tenant_id = $1 AND z.thread_id = $2 AND z.checkpoint_ns = $3)`,
    // A parent that need not exist and does not is accepted; one the snapshot has but the lock
    // found deleted is not (the second lookup runs only then).
    id: `SELECT $1, $2, $3, $4, $10::text, COALESCE($5::int, b.step + 1, 0), ${rest}
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT y.checkpoint_id, y.step FROM checkpoints y
  WHERE y.tenant_id = $1 AND y.thread_id = $2 AND y.checkpoint_ns = $3 AND y.checkpoint_id <= $10
  ORDER BY y.checkpoint_id DESC LIMIT 1
  FOR KEY SHARE
) b ON b.checkpoint_id = $10
WHERE b.checkpoint_id IS NOT NULL OR (NOT $11::bool AND NOT COALESCE((SELECT z.checkpoint_id FROM checkpoints z
  WHERE z.tenant_id = $1 AND z.thread_id = $2 AND z.checkpoint_ns = $3 AND z.checkpoint_id <= $10
  ORDER BY z.checkpoint_id DESC LIMIT 1) = $10, false))`,
  }[parent];
  const onConflict = replace
    ? `
ON CONFLICT (tenant_id, thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET parent_checkpoint_id = EXCLUDED.parent_checkpoint_id,
  step = EXCLUDED.step, state = EXCLUDED.state, state_format = EXCLUDED.state_format, metadata = EXCLUDED.metadata`
    : '';
  return `${columns}\n${source}${onConflict}`;
}
