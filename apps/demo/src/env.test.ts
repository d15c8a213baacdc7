import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '@cairn/cairn';
import { readEnv } from './env.js';

describe('readEnv', () => {
  it('fills the defaults when nothing is set', () => {
    const env = readEnv({});
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.REDIS_URL).toBeUndefined();
    expect(env.PORT).toBeUndefined();
    expect(env).toMatchObject({ HOST: '127.0.0.1', CAIRN_SEED: true, OPENAI_MODEL: 'gpt-4o-mini' });
  });

  it('takes a Redis key prefix and refuses one Redis would mangle', () => {
    expect(readEnv({ REDIS_KEY_PREFIX: 'demo-1:' }).REDIS_KEY_PREFIX).toBe('demo-1:');
    expect(() => readEnv({ REDIS_KEY_PREFIX: 'has space' })).toThrow(ValidationError);
  });

  it('treats empty variables as unset', () => {
    const env = readEnv({ DATABASE_URL: '', PORT: ' ' });
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.PORT).toBeUndefined();
  });

  it('reports every bad variable at once', () => {
    let error: unknown;
    try {
      readEnv({ DATABASE_URL: 'mysql://x', REDIS_URL: 'nope', PORT: '70000' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path).sort()).toEqual(['DATABASE_URL', 'PORT', 'REDIS_URL']);
  });

  it('reads the switches', () => {
    expect(readEnv({ CAIRN_SEED: 'false', PORT: '0' })).toMatchObject({ CAIRN_SEED: false, PORT: 0 });
  });
});
