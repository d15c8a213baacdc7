// Settings for the test infrastructure, read once from the environment (the test entry point).
export const ADMIN_URL = process.env.CAIRN_TEST_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_DB_PREFIX = 'cairn_test_';
export const TEMPLATE_PREFIX = 'cairn_tpl_';

export function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
