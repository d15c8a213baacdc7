// Records the process's uncaught exceptions, for tests that must show a lost connection did not
// produce one (node-postgres emits 'error' on a client whose connection drops).

/** What recordUncaughtExceptions() returns. */
export interface UncaughtRecorder {
  /** Everything recorded since the last clear(). */
  readonly errors: unknown[];
  clear(): void;
  /** Lets a late 'error' event escape, if anything would let one, then returns what was recorded. */
  settle(): Promise<unknown[]>;
  stop(): void;
}

export function recordUncaughtExceptions(): UncaughtRecorder {
  const errors: unknown[] = [];
  const record = (error: unknown) => errors.push(error);
  process.on('uncaughtException', record);
  return {
    errors,
    clear: () => {
      errors.length = 0;
    },
    settle: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 50));
      return errors;
    },
    stop: () => {
      process.off('uncaughtException', record);
    },
  };
}
