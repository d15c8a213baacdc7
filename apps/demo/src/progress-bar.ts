// A dependency-free progress bar for long CLI ingests: redrawn in place on a terminal, a line
// every few percent when the output is a file or a CI log (where carriage returns turn to noise).

/** Where the bar writes; process.stderr by default so piping stdout stays clean. */
export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressBarOptions {
  /** Total units of work (files, bytes, chunks). */
  total: number;
  /** Word shown after the counts. @defaultValue 'items' */
  unit?: string;
  stream?: ProgressStream;
  /** Force line mode (no in-place redraw). @defaultValue !stream.isTTY */
  plain?: boolean;
}

/** A progress bar: `tick(n, label)` as work completes, `done()` at the end. */
export class ProgressBar {
  readonly #total: number;
  readonly #unit: string;
  readonly #stream: ProgressStream;
  readonly #plain: boolean;
  readonly #started = Date.now();
  #current = 0;
  #lastPlainPercent = -1;
  #finished = false;

  constructor(options: ProgressBarOptions) {
    this.#total = Math.max(0, options.total);
    this.#unit = options.unit ?? 'items';
    this.#stream = options.stream ?? process.stderr;
    this.#plain = options.plain ?? !this.#stream.isTTY;
  }

  get current(): number {
    return this.#current;
  }

  /** Advances by `amount` and redraws; `label` says what is being worked on. */
  tick(amount = 1, label = ''): void {
    if (this.#finished) return;
    this.#current = Math.min(this.#total, this.#current + amount);
    this.#render(label);
  }

  /** Draws the final state and moves to a new line. Idempotent. */
  done(label = 'done'): void {
    if (this.#finished) return;
    this.#current = this.#total;
    this.#render(label, true);
    this.#finished = true;
  }

  /** The bar as text, e.g. `[#######-------------]  35%  7/20 files  3.1s  notes.md`. */
  format(label = '', width = 24): string {
    const ratio = this.#total === 0 ? 1 : this.#current / this.#total;
    const filled = Math.round(ratio * width);
    const seconds = ((Date.now() - this.#started) / 1000).toFixed(1);
    const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}  ${this.#current}/${this.#total} ${this.#unit}  ${seconds}s${label ? `  ${label}` : ''}`;
  }

  #render(label: string, final = false): void {
    if (this.#plain) {
      const percent = this.#total === 0 ? 100 : Math.floor((this.#current / this.#total) * 100);
      // Every 10 % (and the end) is enough for a log.
      if (!final && percent - this.#lastPlainPercent < 10) return;
      this.#lastPlainPercent = percent;
      this.#stream.write(`${this.format(label)}\n`);
      return;
    }
    const columns = this.#stream.columns ?? 80;
    const line = this.format(label).slice(0, Math.max(20, columns - 1));
    this.#stream.write(`\r${line.padEnd(Math.max(20, columns - 1))}${final ? '\n' : ''}`);
  }
}
