// The shape checks other packages' option schemas use for this package's objects. They test shape,
// not class identity, so two installed copies of @cairn/redis still accept each other's objects.
import { z } from 'zod';
import type { RedisConnection } from './connection.js';
import type { ChangeNotifier } from './notifier.js';

/** A RedisConnection made by `createRedis()`. */
export const RedisConnectionSchema = z.custom<RedisConnection>(
  (v) => typeof v === 'object' && v !== null && typeof (v as { run?: unknown }).run === 'function' && typeof (v as { key?: unknown }).key === 'function',
  'must be a RedisConnection from @cairn/redis (createRedis())',
);

/** A ChangeNotifier (RedisNotifier or PostgresNotifier); writers publish on their tenant's feed (`forTenant`). */
export const ChangeNotifierSchema = z.custom<ChangeNotifier>(
  (v) => typeof v === 'object' && v !== null && typeof (v as { forTenant?: unknown }).forTenant === 'function',
  'must be a ChangeNotifier from @cairn/redis',
);
