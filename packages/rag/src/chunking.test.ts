import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '@cairn/core';
import { chunkDocument, chunkText, estimateTokens } from './chunking.js';

const paragraph = (n: number, words = 30) =>
  Array.from({ length: words }, (_, i) => `w${n}x${i}`)
    .join(' ')
    .replace(/(w\d+x9|w\d+x19|w\d+x29) /g, '$1. ');

describe('chunkText', () => {
  it('keeps a short text whole', () => {
    expect(chunkText('Hello world.', { size: 100 })).toEqual([{ index: 0, text: 'Hello world.', start: 0, end: 12, size: 12 }]);
    expect(chunkText('   \n\n  ')).toEqual([]);
  });

  it('cuts between paragraphs first and reports offsets into the original', () => {
    const text = [paragraph(1, 10), paragraph(2, 10), paragraph(3, 10)].join('\n\n');
    const chunks = chunkText(text, { size: 60, overlap: 0 });
    expect(chunks.map((c) => c.text)).toEqual([paragraph(1, 10), paragraph(2, 10), paragraph(3, 10)]);
    for (const c of chunks) expect(text.slice(c.start, c.end)).toBe(c.text);
  });

  it('falls back to sentences, then words, never exceeding the size', () => {
    const text = paragraph(1, 200);
    const chunks = chunkText(text, { size: 150, overlap: 30 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(c.text.length).toBeLessThanOrEqual(150);
      expect(text.slice(c.start, c.end)).toBe(c.text);
      // Cut at word boundaries: no chunk starts or ends inside a word.
      expect(/\s/.test(text[c.start - 1] ?? ' ')).toBe(true);
      expect(/[\s.]/.test(text[c.end] ?? ' ')).toBe(true);
    }
    // Everything is covered, in order.
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.start).toBeLessThanOrEqual(chunks[i - 1]!.end + 1);
    expect(chunks.at(-1)!.end).toBe(text.length);
  });

  it('overlaps consecutive chunks by about the requested amount', () => {
    const text = paragraph(1, 300);
    const chunks = chunkText(text, { size: 200, overlap: 50 });
    for (let i = 1; i < chunks.length; i++) {
      const shared = chunks[i - 1]!.end - chunks[i]!.start;
      expect(shared).toBeGreaterThan(0);
      expect(shared).toBeLessThanOrEqual(50);
    }
  });

  it('cuts a word longer than the size by characters', () => {
    const chunks = chunkText('x'.repeat(250), { size: 100, overlap: 0 });
    expect(chunks.map((c) => c.text.length)).toEqual([100, 100, 50]);
  });

  it('measures in approximate tokens, or with a given counter', () => {
    const text = paragraph(1, 400);
    const chunks = chunkText(text, { unit: 'tokens', size: 64, overlap: 8 });
    for (const c of chunks) expect(estimateTokens(c.text)).toBeLessThanOrEqual(64);
    const byWords = chunkText(text, { unit: 'tokens', size: 50, overlap: 0, countTokens: (s) => s.split(/\s+/).filter(Boolean).length });
    expect(byWords.every((c) => c.size <= 50)).toBe(true);
    expect(byWords).toHaveLength(8);
  });

  it('refuses an overlap as large as the size', () => {
    expect(() => chunkText('abc', { size: 10, overlap: 10 })).toThrow(ValidationError);
  });
});

describe('estimateTokens', () => {
  it('counts about one token per four letters and one per punctuation mark', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('the cat sat.')).toBe(4);
    expect(estimateTokens('internationalization')).toBe(5);
  });
});

describe('chunkDocument', () => {
  it('makes upsert-ready documents with ids and positions in metadata', () => {
    const docs = chunkDocument({ id: 'manual', content: paragraph(1, 100), metadata: { source: 'a.md' } }, { size: 200, overlap: 0 });
    expect(docs[0]).toMatchObject({ id: 'manual#0', metadata: { source: 'a.md', parentId: 'manual', chunk: 0, start: 0 } });
    expect(docs.at(-1)!.id).toBe(`manual#${docs.length - 1}`);
  });
});
