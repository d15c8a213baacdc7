// Jest global setup: migrates one template database per migration set (reused across runs while
// the migrations are unchanged) so each test file can clone a fresh database from it in ~100 ms.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { EMPTY_FILTERS, openSchemaEngine, readMigrationsList } from '../engine/wasm-schema-engine.js';
import { ADMIN_URL, TEMPLATE_PREFIX, TEST_DB_PREFIX, withDatabase } from './test-env.js';

const schemaPath = fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url));
const migrationsDir = fileURLToPath(new URL('../../../prisma/migrations', import.meta.url));

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

const KEPT_OTHER_TEMPLATES = 3;

export default async function globalSetup() {
  const schema = await readFile(schemaPath, 'utf8');
  const migrationsList = await readMigrationsList(migrationsDir);
  const hash = createHash('sha256');
  for (const dir of migrationsList.migrationDirectories) hash.update(dir.path).update(dir.migrationFile.content.value ?? '');
  const template = `${TEMPLATE_PREFIX}${hash.digest('hex').slice(0, 16)}`;

  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  try {
    // Several packages' test runs may start at once; one builds the template, the others wait.
    await admin.query(`SELECT pg_advisory_lock(hashtext('cairn-test-template'))`);
    // Newest first (oids grow): the templates of other migration sets are kept a while, because a
    // second checkout on this server (a branch with one more migration) may be cloning from them.
    const { rows } = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'cairn\\_%' ORDER BY oid DESC`);
    let otherTemplates = 0;
    for (const { datname } of rows) {
      const stale =
        (datname.startsWith(TEMPLATE_PREFIX) && datname !== template && ++otherTemplates > KEPT_OTHER_TEMPLATES) ||
        (datname.startsWith(TEST_DB_PREFIX) && !alive(Number(datname.slice(TEST_DB_PREFIX.length).split('_')[0])));
      if (stale) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    if (!rows.some((r) => r.datname === template)) {
      const building = `${template}_building`;
      await admin.query(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${building}"`);
      const engine = await openSchemaEngine({ url: withDatabase(ADMIN_URL, building), datamodels: [[schemaPath, schema]] });
      try {
        await engine.call('applyMigrations', { migrationsList, filters: EMPTY_FILTERS });
      } finally {
        await engine.close();
      }
      // Let the engine's pool disconnect before the rename (a template must have no sessions).
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [building],
      );
      await admin.query(`ALTER DATABASE "${building}" RENAME TO "${template}"`);
    }
  } finally {
    await admin.query(`SELECT pg_advisory_unlock(hashtext('cairn-test-template'))`).catch(() => undefined);
    await admin.end();
  }
  process.env.CAIRN_TEST_TEMPLATE_DB = template;
  process.env.CAIRN_TEST_ADMIN_URL = ADMIN_URL;
  process.env.CAIRN_TEST_RUN_PID = String(process.pid);
}
