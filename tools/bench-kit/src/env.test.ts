import { afterEach, describe, expect, it } from '@jest/globals';
import { DEFAULT_REDIS_URL, envInteger, envIntegerList, envString, redisUrlFromEnv } from './env.js';

const NAME = 'CAIRN_BENCH_KIT_TEST_VALUE';
const saved = { BENCH_REDIS_URL: process.env.BENCH_REDIS_URL, REDIS_URL: process.env.REDIS_URL };

afterEach(() => {
  delete process.env[NAME];
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('environment settings', () => {
  it('falls back when a variable is unset or empty', () => {
    expect(envInteger(NAME, 500)).toBe(500);
    process.env[NAME] = '';
    expect(envInteger(NAME, 500)).toBe(500);
    expect(envIntegerList(NAME, [1024, 102400])).toEqual([1024, 102400]);
    expect(envString(NAME, 'on')).toBe('on');
  });

  it('reads integers and lists of them', () => {
    process.env[NAME] = '200';
    expect(envInteger(NAME, 500)).toBe(200);
    process.env[NAME] = '1024,0';
    expect(envIntegerList(NAME, [])).toEqual([1024, 0]);
  });

  it('names the variable when its value is not a non-negative integer', () => {
    for (const bad of ['ten', '-1', '1.5', ' ']) {
      process.env[NAME] = bad;
      expect(() => envInteger(NAME, 1)).toThrow(NAME);
    }
    process.env[NAME] = '1,,2';
    expect(() => envIntegerList(NAME, [])).toThrow(NAME);
  });

  it('takes BENCH_REDIS_URL before REDIS_URL', () => {
    delete process.env.BENCH_REDIS_URL;
    delete process.env.REDIS_URL;
    expect(redisUrlFromEnv()).toBe(DEFAULT_REDIS_URL);
    process.env.REDIS_URL = 'redis://a:6379';
    expect(redisUrlFromEnv()).toBe('redis://a:6379');
    process.env.BENCH_REDIS_URL = 'redis://b:6379';
    expect(redisUrlFromEnv()).toBe('redis://b:6379');
  });
});
