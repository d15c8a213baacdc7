import { describe, expect, it } from '@jest/globals';
import { formatCliError } from './cli-errors.js';

describe('formatCliError', () => {
  it('prints the message and its causes without a stack trace', () => {
    const error = new Error('Could not ingest notes.md', { cause: new Error('connect ECONNREFUSED 127.0.0.1:5432') });
    const text = formatCliError(error);
    expect(text).toBe('Error: Could not ingest notes.md\n  caused by: connect ECONNREFUSED 127.0.0.1:5432');
    expect(text).not.toMatch(/^\s+at /m);
  });

  it('leaves out a cause the message already repeats', () => {
    const cause = new Error('relation "objects" does not exist');
    expect(formatCliError(new Error(`tables missing: ${cause.message}`, { cause }))).toBe('Error: tables missing: relation "objects" does not exist');
  });

  it('includes the stack when asked to', () => {
    expect(formatCliError(new Error('boom'), { stack: true })).toMatch(/^Error: Error: boom\n\s+at /);
  });

  it('prints what was thrown when it is not an Error', () => {
    expect(formatCliError('plain')).toBe('Error: plain');
  });
});
