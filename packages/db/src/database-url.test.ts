import { describe, expect, it } from '@jest/globals';
import { DatabaseUrlError, parseDatabaseUrl, redactUrl } from './index.js';

describe('parseDatabaseUrl', () => {
  it('reads host, port, database, credentials, sslmode and schema', () => {
    const url = parseDatabaseUrl('postgresql://app:s%40cret@db.example.com:6543/cairn?sslmode=require&schema=agents');
    expect(url).toMatchObject({
      host: 'db.example.com',
      port: 6543,
      database: 'cairn',
      user: 'app',
      password: 's@cret',
      sslMode: 'require',
      schema: 'agents',
    });
    expect(url.connectionString).not.toContain('schema=');
  });

  it('defaults the port to 5432', () => {
    expect(parseDatabaseUrl('postgres://localhost/x').port).toBe(5432);
  });

  it.each([
    ['', /empty/],
    ['not a url', /not a valid URL/],
    ['mysql://root@localhost/db', /postgresql:\/\//],
    ['postgresql://localhost:99999/db', /not a valid URL|invalid port/],
    ['postgresql://localhost', /names no database/],
    ['postgresql://localhost/db?sslmode=maybe', /unknown sslmode/],
    ['postgresql://localhost/db?schema=bad;drop', /invalid schema/],
  ])('rejects %j with a clear DatabaseUrlError', (input, message) => {
    expect(() => parseDatabaseUrl(input)).toThrow(DatabaseUrlError);
    expect(() => parseDatabaseUrl(input)).toThrow(message);
  });

  it('never puts the password in its messages', () => {
    try {
      parseDatabaseUrl('mysql://u:hunter2@h/db');
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
    expect(redactUrl('postgresql://u:hunter2@h/db')).toBe('postgresql://u:***@h/db');
  });
});
