// How the command line reports a failure: the message a person can act on, then each cause's
// message, and the stack only when asked for (LOG_LEVEL=debug or trace): a stack trace in front
// of "apply the migrations" hides the one line that says what to do.

/** The lines to print for an error that ended a command. */
export function formatCliError(error: unknown, options: { stack?: boolean } = {}): string {
  if (!(error instanceof Error)) return `Error: ${String(error)}`;
  if (options.stack) return `Error: ${error.stack ?? error.message}${causeLines(error).join('')}`;
  const lines = [`Error: ${error.message}`, ...causeLines(error)];
  return lines.join('');
}

/** `\n  caused by: …` for each cause whose message the text so far does not already contain. */
function causeLines(error: Error): string[] {
  const lines: string[] = [];
  let shown = error.message;
  for (let cause: unknown = error.cause, depth = 0; cause !== undefined && depth < 5; depth += 1) {
    const message = cause instanceof Error ? cause.message : describe(cause);
    if (message !== '' && !shown.includes(message)) {
      lines.push(`\n  caused by: ${message}`);
      shown += message;
    }
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return lines;
}

/** A non-Error cause as text; a value JSON cannot write (a cycle, a bigint) as its type. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}
