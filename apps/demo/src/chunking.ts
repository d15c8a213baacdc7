// Splits a text into overlapping chunks of about `size` characters, preferring paragraph and then
// sentence boundaries, so each chunk reads as whole sentences where the text allows it.

/** Options of chunkText(). */
export interface ChunkOptions {
  /** Largest chunk, in characters. */
  size: number;
  /** Characters of the previous chunk repeated at the start of the next (context across the cut). */
  overlap: number;
}

/** Pieces no longer than `size`: paragraphs, else sentences, else hard cuts. */
function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split(/\n\s*\n/)) {
    const p = paragraph.trim();
    if (p === '') continue;
    if (p.length <= size) {
      out.push(p);
      continue;
    }
    for (const sentence of p.match(/[^.!?]+(?:[.!?]+|$)\s*/g) ?? [p]) {
      const s = sentence.trim();
      for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
    }
  }
  return out;
}

/** Chunks `text`; an empty or blank text gives no chunks. */
export function chunkText(text: string, options: ChunkOptions): string[] {
  const { size, overlap } = options;
  const chunks: string[] = [];
  let current = '';
  for (const piece of pieces(text, size)) {
    const joined = current === '' ? piece : `${current}\n\n${piece}`;
    if (joined.length <= size) {
      current = joined;
      continue;
    }
    chunks.push(current);
    // Start the next chunk with the tail of this one, cut at a word boundary.
    const tail = current.slice(-overlap);
    const cut = tail.indexOf(' ');
    const carried = overlap > 0 && cut >= 0 ? tail.slice(cut + 1) : '';
    current = carried && carried.length + piece.length + 1 <= size ? `${carried} ${piece}` : piece;
  }
  if (current.trim() !== '') chunks.push(current);
  return chunks;
}
