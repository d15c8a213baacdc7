// The Lua scripts Cairn runs, defined on a client once, when the connection creates it.
// Defining a script command later, on first use, crashes the process when auto-pipelining is on and
// an auto-pipeline is pending (ioredis#1931, still so in ioredis 6.0.0: the pending pipeline was built
// without the new command, the command is queued on it anyway, and the reply loop reads past the end
// of its results: "results[i] is not iterable", thrown from a callback, uncaught).
import type { Cluster, Redis } from 'ioredis';

/** The clients scripts are defined on: connection.ts's RedisClient (named here so the two files do not import each other). */
type Client = Redis | Cluster;

// Cache entries (cache.ts): KEYS[1] the value, KEYS[2] its version counter. Every write bumps the
// version; a read-through fill lands only if the version is still the one it saw before loading.
const CACHE_SET = `
local ver = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return ver`;

// The version outlives the value long enough to refuse in-flight fills.
const CACHE_DEL = `
local ver = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return ver`;

const CACHE_FILL = `
local ver = redis.call('GET', KEYS[2]) or '0'
if ver ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

// Sessions (session-store.ts): a hash { val, ttl }; a touch extends the entry by its own TTL.
const SESSION_TOUCH = `
local ttl = redis.call('HGET', KEYS[1], 'ttl')
if not ttl then return nil end
redis.call('PEXPIRE', KEYS[1], ttl)
if ARGV[1] == '1' then return redis.call('HGET', KEYS[1], 'val') end
return 'OK'`;

/** A client with Cairn's script commands (every client a RedisConnection creates has them). */
export type ScriptedClient = Client & {
  cairnCacheSet(key: string, versionKey: string, value: Buffer, ttlMs: number, versionTtlMs: number): Promise<number>;
  cairnCacheDel(key: string, versionKey: string, tombstoneMs: number): Promise<number>;
  cairnCacheFill(key: string, versionKey: string, version: string, value: Buffer, ttlMs: number): Promise<number>;
  cairnSessionTouch(key: string, fetch: '0'): Promise<string | null>;
  cairnSessionTouchBuffer(key: string, fetch: '1'): Promise<Buffer | null>;
};

/** Defines every Cairn script command on `client`. Call before the client sends anything. */
export function defineScripts(client: Client): ScriptedClient {
  client.defineCommand('cairnCacheSet', { numberOfKeys: 2, lua: CACHE_SET });
  client.defineCommand('cairnCacheDel', { numberOfKeys: 2, lua: CACHE_DEL });
  client.defineCommand('cairnCacheFill', { numberOfKeys: 2, lua: CACHE_FILL });
  client.defineCommand('cairnSessionTouch', { numberOfKeys: 1, lua: SESSION_TOUCH });
  return client as ScriptedClient;
}
