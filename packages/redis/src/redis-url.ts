// The forms of a Redis URL createRedis() accepts, and what each one means: one node
// (`redis://`, `rediss://`), or a Redis Cluster given by its seed nodes, either as
// `redis+cluster://[user:password@]host:port[,host:port…]` (`rediss+cluster://` for TLS) or as a
// plain `redis://` URL naming more than one `host:port`, comma-separated.
import { z } from 'zod';

/** A URL naming a Redis Cluster's seed nodes (what `parseRedisUrl` makes of a cluster form). */
export interface ClusterUrl {
  readonly nodes: { host: string; port: number }[];
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
}

const URL_FORM = /^(rediss?)(\+cluster)?:\/\/(?:([^@/]*)@)?([^/?#]+)(\/[^?#]*)?$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^:,[\]]+)(?::(\d{1,5}))?$/;

function nodeOf(text: string): { host: string; port: number } | undefined {
  const m = HOST_PORT.exec(text.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? 6379 : Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * Reads `url`: undefined for a single-node URL (ioredis parses those itself), a ClusterUrl for a
 * cluster form, or a string saying what is wrong with it.
 */
export function parseRedisUrl(url: string): ClusterUrl | string | undefined {
  const m = URL_FORM.exec(url);
  if (!m) return 'must be redis://, rediss://, redis+cluster:// or rediss+cluster:// followed by host:port';
  const [, scheme, cluster, auth, hosts, path] = m;
  const list = hosts!.split(',');
  if (cluster === undefined && list.length === 1) return undefined;
  if (path !== undefined && path !== '/' && path !== '/0') return 'a Redis Cluster has only database 0: drop the /db part';
  const nodes = list.map(nodeOf);
  if (nodes.some((n) => n === undefined)) return `names a node that is not host[:port]: ${hosts!}`;
  let username: string | undefined;
  let password: string | undefined;
  if (auth !== undefined && auth !== '') {
    const colon = auth.indexOf(':');
    const user = colon === -1 ? auth : auth.slice(0, colon);
    username = user === '' ? undefined : decodeURIComponent(user);
    password = colon === -1 ? undefined : decodeURIComponent(auth.slice(colon + 1));
  }
  return { nodes: nodes as { host: string; port: number }[], username, password, tls: scheme === 'rediss' };
}

/** A Redis URL of any form createRedis() accepts (see `parseRedisUrl`). */
export const RedisUrlSchema: z.ZodType<string> = z.string().superRefine((url, ctx) => {
  const parsed = parseRedisUrl(url);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});
