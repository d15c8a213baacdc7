// Positional parameters for SQL built in pieces (filters, CTEs): every value becomes `$n`, never text.

/** Collects values and hands out their `$n` placeholders. */
export class SqlParams {
  readonly values: unknown[] = [];

  /** Adds a value and returns its placeholder, with `cast` (a type name from Cairn's code, never user input) appended. */
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return cast ? `$${this.values.length}::${cast}` : `$${this.values.length}`;
  }
}
