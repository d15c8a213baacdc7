// The benches' settings from the environment (a bench is an entry point; the kit reads only the
// variables a bench asks for), each checked, so a typo fails at once instead of measuring NaN calls.

/** Where benches create their scratch databases unless `BENCH_ADMIN_URL` says otherwise. */
export const DEFAULT_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';
/** The Redis benches use unless `BENCH_REDIS_URL` or `REDIS_URL` says otherwise. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function read(name: string): string | undefined {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function integer(name: string, text: string, raw: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return value;
}

/** `name` as a non-negative integer (a count, a size in bytes, milliseconds); unset or empty gives `fallback`. */
export function envInteger(name: string, fallback: number): number {
  const raw = read(name);
  return raw === undefined ? fallback : integer(name, raw, raw);
}

/** `name` as comma-separated non-negative integers (`1024,102400`); unset or empty gives `fallback`. */
export function envIntegerList(name: string, fallback: readonly number[]): number[] {
  const raw = read(name);
  return raw === undefined ? [...fallback] : raw.split(',').map((part) => integer(name, part, raw));
}

/** `name` as text; unset or empty gives `fallback`. */
export function envString(name: string, fallback: string): string {
  return read(name) ?? fallback;
}

/** `BENCH_ADMIN_URL`: a PostgreSQL role allowed to CREATE DATABASE (default {@link DEFAULT_ADMIN_URL}). */
export function adminUrlFromEnv(): string {
  return envString('BENCH_ADMIN_URL', DEFAULT_ADMIN_URL);
}

/** `BENCH_REDIS_URL`, else `REDIS_URL` (default {@link DEFAULT_REDIS_URL}). */
export function redisUrlFromEnv(): string {
  return envString('BENCH_REDIS_URL', envString('REDIS_URL', DEFAULT_REDIS_URL));
}
