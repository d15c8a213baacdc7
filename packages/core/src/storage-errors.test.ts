import { describe, expect, it } from '@jest/globals';
import { ValidationError } from './errors.js';
import { StorageError, StorageUnavailableError, toStorageError } from './storage-errors.js';

const driverError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe('toStorageError', () => {
  it('passes Cairn errors through untouched', () => {
    const own = new ValidationError('input', [{ path: 'a', message: 'bad' }]);
    expect(toStorageError(own)).toBe(own);
  });

  it('maps connection failures to StorageUnavailableError with the attempts and the SQLSTATE', () => {
    const error = toStorageError(driverError('57P01', 'terminating connection due to administrator command'), { attempts: 3, operation: 'object save' });
    expect(error).toBeInstanceOf(StorageUnavailableError);
    expect(error).toMatchObject({ code: 'STORAGE_UNAVAILABLE', category: 'unavailable', attempts: 3, details: { sqlstate: '57P01', operation: 'object save' } });
    expect(toStorageError(new Error('Connection terminated unexpectedly'))).toBeInstanceOf(StorageUnavailableError);
    expect(toStorageError(driverError('ECONNREFUSED'))).toMatchObject({ details: { sqlstate: 'ECONNREFUSED' } });
  });

  it('names missing tables, input the database refused, and everything else', () => {
    expect(toStorageError(driverError('42P01'))).toMatchObject({ code: 'SCHEMA_MISSING', category: 'internal' });
    for (const code of ['22P05', '22021', '22P02', '22001', '54000']) {
      const error = toStorageError(driverError(code));
      expect(error).toBeInstanceOf(StorageError);
      expect(error).toMatchObject({ code: 'INPUT_REJECTED', category: 'invalid_input', details: { sqlstate: code } });
    }
    const other = toStorageError(driverError('XX000'), { details: { commitOutcomeUnknown: true } });
    expect(other).toMatchObject({ code: 'STORAGE_FAILED', category: 'internal', details: { sqlstate: 'XX000', commitOutcomeUnknown: true } });
    expect(other.cause).toBeInstanceOf(Error);
  });
});
