import { describe, expect, it } from '@jest/globals';
import {
  CairnError,
  ClosedError,
  CheckpointNotFoundError,
  ConflictError,
  DatabaseUnavailableError,
  DimensionMismatchError,
  EmptyTextError,
  InvalidFilterError,
  ObjectNotFoundError,
  RedisUnavailableError,
  SessionNotFoundError,
  StorageUnavailableError,
  ThreadNotFoundError,
  ValidationError,
  VersionConflictError,
} from '@cairn/cairn';
import { toErrorBody } from './http-errors.js';
import { ModelError } from './model.js';
import { NothingToResumeError } from './workflow.js';

describe('toErrorBody', () => {
  const cases: [string, unknown, number][] = [
    ['a validation error', new ValidationError('input', [{ path: 'a', message: 'bad' }]), 400],
    ['a bad filter', new InvalidFilterError([{ path: 'x', message: 'unknown operator' }]), 400],
    ['a vector of the wrong size', new DimensionMismatchError(3, 4, 'expected 3 numbers, got 4'), 400],
    ['an empty text', new EmptyTextError('the query is empty'), 400],
    ['a missing object', new ObjectNotFoundError('note', 'n1'), 404],
    ['a missing checkpoint', new CheckpointNotFoundError('t1', '', 'c1'), 404],
    ['a missing session', new SessionNotFoundError('s1'), 404],
    ['a missing thread', new ThreadNotFoundError('t1'), 404],
    ['a version conflict', new VersionConflictError({ type: 'note', id: 'n1', expectedVersion: 1, actualVersion: 2 }), 409],
    ['a checkpoint conflict', new ConflictError('lost the race'), 409],
    ['PostgreSQL unreachable', new StorageUnavailableError('connection refused'), 503],
    ['the database unreachable at start', new DatabaseUnavailableError('connection refused'), 503],
    ['Redis unreachable', new RedisUnavailableError('no answer'), 503],
    ['a closed instance', new ClosedError('Cairn instance'), 503],
    ['an internal failure', new CairnError('SOMETHING_BROKE', 'broken'), 500],
    ['the model failing', new ModelError('no answer'), 502],
    ['nothing to resume', new NothingToResumeError('finished'), 409],
    ['an unknown throw', new Error('boom'), 500],
  ];

  it.each(cases)('maps %s by its category', (_what, error, status) => {
    const body = toErrorBody(error);
    expect(body.statusCode).toBe(status);
    if (error instanceof CairnError) expect(body.code).toBe(error.code);
  });

  it('never repeats the message of an unexpected error', () => {
    expect(toErrorBody(new Error('password=hunter2'))).toMatchObject({ code: 'INTERNAL', message: 'Internal server error' });
  });
});
