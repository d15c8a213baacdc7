// The `cairn` command line as a function of its arguments, environment and output streams, returning
// the exit code: 0 done (doctor: no check failed), 1 a check or the command failed, 2 usage error.
import { CairnError } from '@cairn/core';
import { CliUsageError } from '../errors.js';
import { isCommandName, parseCommandLine } from './args.js';
import { runDoctor } from './doctor.js';
import { migrateDeploy, migrateStatus } from './migrate.js';
import { formatChecks, type CliOutput } from './output.js';
import { packageInfo } from './package-info.js';
import { commandUsage, mainUsage } from './usage.js';

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function errorReport(error: unknown): Record<string, unknown> {
  if (error instanceof CairnError) return { error: { name: error.name, code: error.code, message: error.message, details: error.details } };
  return { error: { name: 'Error', code: 'UNEXPECTED', message: error instanceof Error ? error.message : String(error) } };
}

/** Runs one `cairn` invocation. Never throws: every failure is a message and an exit code. */
export async function runCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, output: CliOutput): Promise<number> {
  const json = argv.includes('--json');
  try {
    const parsed = parseCommandLine(argv, env);
    switch (parsed.kind) {
      case 'help':
        output.out(parsed.command ? commandUsage(parsed.command) : mainUsage(packageInfo().version));
        return EXIT.ok;
      case 'version':
        output.out(packageInfo().version);
        return EXIT.ok;
      case 'migrate deploy':
        return await migrateDeploy(parsed.settings, output);
      case 'migrate status':
        return await migrateStatus(parsed.settings, output);
      case 'doctor': {
        const checks = await runDoctor(parsed.settings);
        const ok = checks.every((check) => check.status !== 'fail');
        output.out(parsed.settings.json ? JSON.stringify({ ok, checks }) : formatChecks(checks));
        return ok ? EXIT.ok : EXIT.failed;
      }
    }
  } catch (error) {
    const usage = error instanceof CliUsageError;
    if (json) {
      output.out(JSON.stringify(errorReport(error)));
    } else if (usage) {
      output.err(`cairn: ${error.message}\n\n${isCommandName(error.command) ? commandUsage(error.command) : mainUsage(packageInfo().version)}`);
    } else {
      output.err(`cairn: ${error instanceof CairnError ? `${error.message} (${error.code})` : error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    return usage ? EXIT.usage : EXIT.failed;
  }
}
