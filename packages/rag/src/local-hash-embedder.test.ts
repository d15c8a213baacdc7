import { describe, expect, it } from '@jest/globals';
import { EmptyTextError } from './errors.js';
import { LocalHashEmbedder } from './local-hash-embedder.js';

const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('LocalHashEmbedder', () => {
  const e = new LocalHashEmbedder();

  it('is deterministic, unit length and of the requested size', async () => {
    const [a, b] = await e.embedDocuments(['The quick brown fox', 'The quick brown fox']);
    expect(a).toEqual(b);
    expect(a).toHaveLength(384);
    expect(cos(a!, a!)).toBeCloseTo(1, 10);
    expect(new LocalHashEmbedder({ dimensions: 64 }).embedSync('x')).toHaveLength(64);
  });

  it('scores shared words, not meaning (it is lexical)', () => {
    const q = e.embedSync('postgres vector index');
    const lexical = e.embedSync('A vector index inside postgres');
    const unrelated = e.embedSync('The weather is sunny today');
    const synonym = e.embedSync('relational database embeddings');
    expect(cos(q, lexical)).toBeGreaterThan(0.5);
    expect(Math.abs(cos(q, unrelated))).toBeLessThan(0.25);
    expect(Math.abs(cos(q, synonym))).toBeLessThan(0.25);
  });

  it('ignores case and punctuation, and hashes symbol-only text by characters', () => {
    expect(e.embedSync('Hello, World!')).toEqual(e.embedSync('hello world'));
    const symbols = e.embedSync('+++ ---');
    expect(cos(symbols, symbols)).toBeCloseTo(1, 10);
  });

  it('gives unrelated spaces for different seeds', () => {
    const other = new LocalHashEmbedder({ seed: 7 });
    expect(Math.abs(cos(e.embedSync('same text here'), other.embedSync('same text here')))).toBeLessThan(0.5);
    expect(other.id).toBe('local-hash:384:bigrams:seed7');
  });

  it('refuses empty text', async () => {
    await expect(e.embedQuery('  ')).rejects.toBeInstanceOf(EmptyTextError);
    await expect(e.embedDocuments(['ok', ''])).rejects.toBeInstanceOf(EmptyTextError);
  });
});
