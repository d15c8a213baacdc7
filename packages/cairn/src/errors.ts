// Errors of the umbrella itself. Everything else a Cairn call can raise comes from the package
// that raised it (and extends CairnError), so callers branch on `code` across the whole stack.
import { CairnError, categoryOf, type CairnErrorOptions } from '@cairn/core';

/** Base class of errors raised by the `@cairn/cairn` umbrella. */
export class CairnSetupError extends CairnError {
  override readonly name: string = 'CairnSetupError';
}

/** A component failed to start; whatever had started was closed again. `component` names it. */
export class CairnStartError extends CairnSetupError {
  override readonly name = 'CairnStartError';
  readonly component: string;
  constructor(component: string, options: CairnErrorOptions = {}) {
    const reason = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super('CAIRN_START_FAILED', `Cairn could not start its ${component}${reason}`, { category: categoryOf(options.cause), ...options, details: { component, ...options.details } });
    this.component = component;
  }
}

/** close() could not close every component cleanly; `errors` holds each failure (all were attempted). */
export class CairnCloseError extends CairnSetupError {
  override readonly name = 'CairnCloseError';
  readonly errors: readonly unknown[];
  constructor(errors: readonly unknown[]) {
    super('CAIRN_CLOSE_FAILED', `Cairn closed with ${errors.length} error(s): ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`, {
      cause: errors[0],
      category: 'internal',
    });
    this.errors = errors;
  }
}

/** The `cairn` command line was not understood (unknown command or option, a missing or bad value); the CLI exits with 2. */
export class CliUsageError extends CairnError {
  override readonly name = 'CliUsageError';
  /** The command whose usage applies, when one was recognised. */
  readonly command: string | undefined;
  constructor(message: string, options: CairnErrorOptions & { command?: string } = {}) {
    super('CLI_USAGE', message, { category: 'invalid_input', ...options, details: { command: options.command ?? null, ...options.details } });
    this.command = options.command;
  }
}
