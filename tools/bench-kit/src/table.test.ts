import { describe, expect, it } from '@jest/globals';
import { formatTable } from './table.js';

describe('formatTable', () => {
  it('writes Markdown with the first column left and the figures right by default', () => {
    expect(formatTable(['operation', 'ops/s', 'ratio'], [['get', '1200', '1.05×']])).toBe(
      ['| operation | ops/s | ratio |', '| --- | ---: | ---: |', '| get | 1200 | 1.05× |'].join('\n'),
    );
  });

  it('follows the alignment it is given', () => {
    expect(formatTable(['a', 'b'], [['1', '2']], { align: ['right', 'left'] }).split('\n')[1]).toBe('| ---: | --- |');
  });

  it('pads cells to their column so the table lines up as text', () => {
    expect(formatTable(['system', 'QPS'], [['@cairn/rag', '380'], ['raw pg', '1689']], { pad: true })).toBe(
      ['| system     |  QPS |', '| ---------- | ---: |', '| @cairn/rag |  380 |', '| raw pg     | 1689 |'].join('\n'),
    );
  });

  it('refuses a row whose cells do not match the columns', () => {
    expect(() => formatTable(['a', 'b'], [['1']])).toThrow(RangeError);
  });
});
