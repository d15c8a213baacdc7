// Result tables as Markdown, so that what a bench prints can be pasted into bench/RESULTS.md as it is.

/** Where a column's cells sit: `right` for figures. */
export type Align = 'left' | 'right';

export interface TableOptions {
  /** Alignment of each column. Default: the first column left, the others right. */
  align?: readonly Align[];
  /** Pads every cell to its column's width, so the table also lines up as plain text. Default false. */
  pad?: boolean;
}

/** A Markdown table of `rows` (cells already formatted) under `headers`, as lines joined by newlines. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const align = headers.map((_, i) => options.align?.[i] ?? (i === 0 ? 'left' : 'right'));
  for (const row of rows) {
    if (row.length !== headers.length) throw new RangeError(`a row has ${row.length} cells for ${headers.length} columns: ${row.join(' | ')}`);
  }
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  if (!options.pad) return [line(headers), line(align.map((a) => (a === 'left' ? '---' : '---:'))), ...rows.map(line)].join('\n');
  const widths = headers.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i]!.length)));
  const padded = (cells: readonly string[]) => line(cells.map((text, i) => (align[i] === 'left' ? text.padEnd(widths[i]!) : text.padStart(widths[i]!))));
  const rule = line(widths.map((w, i) => (align[i] === 'left' ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)));
  return [padded(headers), rule, ...rows.map(padded)].join('\n');
}

/** Prints {@link formatTable}'s table to stdout. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[], options?: TableOptions): void {
  console.log(formatTable(headers, rows, options));
}
