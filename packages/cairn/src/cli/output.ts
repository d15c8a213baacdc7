// Where the CLI writes, and how a doctor report reads as text: one status line per check, with what
// to do indented under it.

/** The CLI's two streams (process.stdout / process.stderr in the bin; buffers in a test). */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One doctor check's outcome. */
export interface CheckResult {
  /** Stable id for `--json` readers: `node`, `postgres`, `pgvector`, `migrations`, `pgbouncer`, `redis`. */
  id: string;
  /** What was checked, for people. */
  title: string;
  status: CheckStatus;
  /** What was found. */
  message: string;
  /** What to do about it (warn and fail only). */
  fix?: string;
}

const LABEL: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

/** The text report: a line per check, its fix under it, and a closing count. */
export function formatChecks(checks: readonly CheckResult[]): string {
  const width = Math.max(...checks.map((c) => c.title.length));
  const lines = checks.flatMap((check) => [
    `${LABEL[check.status]}  ${check.title.padEnd(width)}  ${check.message}`,
    ...(check.fix ? [`${' '.repeat(6 + width + 2)}→ ${check.fix}`] : []),
  ]);
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  const verdict =
    failed === 0
      ? `All checks passed${warned > 0 ? ` (${warned} warning${warned === 1 ? '' : 's'})` : ''}.`
      : `${failed} check${failed === 1 ? '' : 's'} failed${warned > 0 ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''}.`;
  return [...lines, '', verdict].join('\n');
}
