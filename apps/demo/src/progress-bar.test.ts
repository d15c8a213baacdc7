import { describe, expect, it } from '@jest/globals';
import { ProgressBar, type ProgressStream } from './progress-bar.js';

function capture(isTTY: boolean): ProgressStream & { text: string } {
  const stream = {
    text: '',
    isTTY,
    columns: 100,
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream;
}

describe('ProgressBar', () => {
  it('redraws in place on a terminal and ends with a newline', () => {
    const stream = capture(true);
    const bar = new ProgressBar({ total: 4, unit: 'chunks', stream });
    bar.tick(1, 'a.md');
    bar.tick(3, 'b.md');
    bar.done();
    const frames = stream.text.split('\r').filter(Boolean);
    expect(frames).toHaveLength(3);
    expect(frames[0]).toMatch(/^\[#{6}-{18}\] {2}25% {2}1\/4 chunks .* a\.md/);
    expect(frames[2]).toMatch(/^\[#{24}\] 100% {2}4\/4 chunks .* done\s*\n$/);
  });

  it('prints whole lines, at most every 10 %, when the output is not a terminal', () => {
    const stream = capture(false);
    const bar = new ProgressBar({ total: 100, stream });
    for (let i = 0; i < 100; i++) bar.tick();
    bar.done();
    const lines = stream.text.trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(lines.at(-1)).toMatch(/100% {2}100\/100 items/);
    expect(stream.text).not.toContain('\r');
  });

  it('never passes its total', () => {
    const bar = new ProgressBar({ total: 2, stream: capture(false) });
    bar.tick(5);
    expect(bar.current).toBe(2);
  });
});
