// Jest global teardown: drops the databases this run's test files created and did not drop.
import pg from 'pg';
import { ADMIN_URL, TEST_DB_PREFIX } from './test-env.js';

export default async function globalTeardown() {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  try {
    const { rows } = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${TEST_DB_PREFIX}%_r${process.pid}\\_%`]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
