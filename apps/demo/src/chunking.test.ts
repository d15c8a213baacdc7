import { describe, expect, it } from '@jest/globals';
import { chunkText } from './chunking.js';

describe('chunkText', () => {
  it('keeps a short text whole', () => {
    expect(chunkText('One paragraph.\n\nAnother one.', { size: 100, overlap: 10 })).toEqual(['One paragraph.\n\nAnother one.']);
  });

  it('gives nothing for blank text', () => {
    expect(chunkText(' \n\n ', { size: 100, overlap: 10 })).toEqual([]);
  });

  it('splits long texts at paragraphs, never beyond the size, with overlap', () => {
    const text = Array.from({ length: 20 }, (_, i) => `Paragraph ${i} has a few words in it.`).join('\n\n');
    const chunks = chunkText(text, { size: 120, overlap: 30 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(120);
    // Every paragraph survives somewhere, and neighbours share text.
    for (let i = 0; i < 20; i++) expect(chunks.some((c) => c.includes(`Paragraph ${i} `))).toBe(true);
    expect(chunks[1]!.startsWith('Paragraph')).toBe(false);
  });

  it('cuts a paragraph without breaks into sentences, and a huge word into pieces', () => {
    const chunks = chunkText(`${'Short sentence here. '.repeat(20)}${'x'.repeat(250)}`, { size: 100, overlap: 0 });
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(100);
    expect(chunks.join('').replace(/\s/g, '')).toContain('x'.repeat(100));
  });
});
