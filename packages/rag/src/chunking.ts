// Splitting long texts into overlapping chunks for embedding, by characters or by approximate
// tokens, cutting at paragraph breaks first, then sentence ends, then spaces, and only as a last
// resort inside a word. Chunks keep their offsets into the original text.
import { z } from 'zod';
import { ValidationError, parseInput } from '@cairn/core';
import type { Metadata } from './options.js';
import type { DocumentInput } from './options.js';

const ChunkOptionsSchema = z
  .object({
    /** Largest chunk, in `unit`s. @defaultValue 1000 characters / 256 tokens */
    size: z.number().int().min(1).max(1_000_000).optional(),
    /** How much consecutive chunks share, in `unit`s; less than size. @defaultValue 15% of size */
    overlap: z.number().int().min(0).max(1_000_000).optional(),
    /** Measure in characters, or in tokens estimated by `countTokens`. @defaultValue 'characters' */
    unit: z.enum(['characters', 'tokens']).default('characters'),
    /** Token counter for unit 'tokens' (plug in a real tokenizer). @defaultValue estimateTokens */
    countTokens: z.custom<(text: string) => number>((v) => typeof v === 'function', 'must be a function').optional(),
  })
  .strict();

/** Options of chunkText(). */
export type ChunkOptions = z.input<typeof ChunkOptionsSchema>;

/** One chunk of a text. */
export interface TextChunk {
  /** 0-based position among the chunks. */
  index: number;
  text: string;
  /** Offset of the chunk's first character in the original text. */
  start: number;
  /** Offset just past its last character. */
  end: number;
  /** Its size in the options' unit. */
  size: number;
}

/**
 * A rough token count for English-like text with BPE tokenizers (cl100k, o200k, …): each run of
 * letters or digits counts one token per 4 characters (at least one), every other non-space
 * character one. Usually within 10–20% of the real count; pass a tokenizer's counter when the
 * limit is strict.
 */
export function estimateTokens(text: string): number {
  let tokens = 0;
  for (const match of text.matchAll(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu)) {
    const piece = match[0];
    tokens += /^[\p{L}\p{N}]/u.test(piece) ? Math.max(1, Math.ceil(piece.length / 4)) : 1;
  }
  return tokens;
}

interface Span {
  start: number;
  end: number;
}

/** Splits [start, end) of `text` at the positions `pattern` matches (separators stay with the span before them). */
function splitAt(text: string, span: Span, pattern: RegExp): Span[] {
  const out: Span[] = [];
  const re = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
  re.lastIndex = span.start;
  let from = span.start;
  for (let m = re.exec(text); m && m.index < span.end; m = re.exec(text)) {
    const cut = Math.min(span.end, m.index + m[0].length);
    if (cut > from) out.push({ start: from, end: cut });
    from = cut;
    if (m[0].length === 0) re.lastIndex++;
  }
  if (from < span.end) out.push({ start: from, end: span.end });
  return out;
}

// Paragraphs (blank lines), then sentence ends (. ! ? … and CJK full stops, followed by space),
// then line breaks, then spaces.
const SEPARATORS = [/\n[ \t]*\n\s*/, /(?<=[.!?…。！？])["')\]]*\s+/, /\n/, /\s+/];

/**
 * Splits `text` into chunks of at most `size` units that overlap by about `overlap`, preferring
 * to cut between paragraphs, then sentences, then words. Whitespace-only input gives no chunks.
 */
export function chunkText(text: string, options: ChunkOptions = {}): TextChunk[] {
  const opts = parseInput(ChunkOptionsSchema, options, 'chunk options');
  if (typeof text !== 'string') throw new ValidationError('text to chunk', [{ path: '', message: 'must be a string' }]);
  const tokens = opts.unit === 'tokens';
  const size = opts.size ?? (tokens ? 256 : 1000);
  const overlap = opts.overlap ?? Math.floor(size * 0.15);
  if (overlap >= size) {
    throw new ValidationError('chunk options', [{ path: 'overlap', message: `must be smaller than size (${size}), got ${overlap}` }]);
  }
  const count = tokens ? (opts.countTokens ?? estimateTokens) : (s: string) => s.length;
  const measure = (span: Span) => count(text.slice(span.start, span.end));

  // Break the text into pieces no larger than `size`, each as coarse as possible.
  const pieces: Span[] = [];
  const refine = (span: Span, level: number) => {
    if (measure(span) <= size) {
      pieces.push(span);
      return;
    }
    if (level >= SEPARATORS.length) {
      // A single word longer than the limit: cut it by characters.
      let start = span.start;
      while (start < span.end) {
        let end = Math.min(span.end, start + size);
        while (end > start + 1 && measure({ start, end }) > size) end--;
        pieces.push({ start, end });
        start = end;
      }
      return;
    }
    const parts = splitAt(text, span, SEPARATORS[level]!);
    if (parts.length === 1) refine(span, level + 1);
    else for (const part of parts) refine(part, level + 1);
  };
  refine({ start: 0, end: text.length }, 0);

  // Pack pieces greedily into chunks; start each new chunk with the previous one's tail.
  const chunks: TextChunk[] = [];
  let first = 0;
  while (first < pieces.length) {
    let last = first;
    while (last + 1 < pieces.length && measure({ start: pieces[first]!.start, end: pieces[last + 1]!.end }) <= size) last++;
    const span = { start: pieces[first]!.start, end: pieces[last]!.end };
    const raw = text.slice(span.start, span.end);
    const trimmedStart = span.start + (raw.length - raw.trimStart().length);
    const trimmedEnd = span.end - (raw.length - raw.trimEnd().length);
    if (trimmedEnd > trimmedStart) {
      const chunkText = text.slice(trimmedStart, trimmedEnd);
      chunks.push({ index: chunks.length, text: chunkText, start: trimmedStart, end: trimmedEnd, size: count(chunkText) });
    }
    if (last + 1 >= pieces.length) break;
    // The next chunk starts with as many trailing pieces of this one as fit in `overlap` (and
    // still leave room for the next new piece), so it always moves forward.
    let next = last + 1;
    while (next - 1 > first) {
      const start = pieces[next - 1]!.start;
      if (measure({ start, end: pieces[last]!.end }) > overlap || measure({ start, end: pieces[last + 1]!.end }) > size) break;
      next--;
    }
    first = next;
  }
  return chunks;
}

/**
 * Chunks one document into documents ready for upsert: ids `<id>#<index>`, metadata extended with
 * `{ parentId, chunk: index, start, end }`.
 */
export function chunkDocument<M extends Metadata>(
  document: { id: string; content: string; metadata?: M },
  options: ChunkOptions = {},
): DocumentInput<M & { parentId: string; chunk: number; start: number; end: number }>[] {
  return chunkText(document.content, options).map((c) => ({
    id: `${document.id}#${c.index}`,
    content: c.text,
    metadata: { ...(document.metadata ?? ({} as M)), parentId: document.id, chunk: c.index, start: c.start, end: c.end },
  }));
}
