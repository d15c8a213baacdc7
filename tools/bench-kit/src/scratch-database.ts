// A database of the bench's own, created empty and dropped at the end, so a bench neither needs
// nor touches anyone's data and two benches never share tables.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface ScratchDatabaseOptions {
  /** A PostgreSQL role allowed to CREATE DATABASE; the statements run in the database this URL names. */
  adminUrl: string;
  /** Start of the database's name, `<prefix>_<pid>_<6 hex digits>`: lower-case letters, digits and underscores. */
  prefix: string;
  /** Settings stored on the database (`ALTER DATABASE … SET`), in force for every connection made to it afterwards: `{ synchronous_commit: 'off' }`. */
  settings?: Readonly<Record<string, string>>;
}

/** A created database; `drop()` (or `await using`) removes it, closing any connection still open to it. */
export interface ScratchDatabase extends AsyncDisposable {
  /** The database's name (an identifier that needs no quoting). */
  readonly name: string;
  /** `adminUrl` with the scratch database in place of the admin one. */
  readonly url: string;
  /** `DROP DATABASE … WITH (FORCE)`; a second call does nothing. */
  drop(): Promise<void>;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const SETTING = /^[a-z_][a-z0-9_.]*$/;

async function admin(adminUrl: string, run: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await run(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database next to `adminUrl`'s (migrations are the bench's business: `createDb({ url, migrate: true })`). */
export async function scratchDatabase(options: ScratchDatabaseOptions): Promise<ScratchDatabase> {
  if (!IDENTIFIER.test(options.prefix)) throw new RangeError(`prefix must match ${IDENTIFIER}, got ${JSON.stringify(options.prefix)}`);
  const settings = Object.entries(options.settings ?? {});
  for (const [key] of settings) if (!SETTING.test(key)) throw new RangeError(`setting name must match ${SETTING}, got ${JSON.stringify(key)}`);
  const name = `${options.prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await admin(options.adminUrl, async (client) => {
    await client.query(`CREATE DATABASE "${name}"`);
    for (const [key, value] of settings) await client.query(`ALTER DATABASE "${name}" SET ${key} = ${client.escapeLiteral(value)}`);
  });
  const url = new URL(options.adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await admin(options.adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  };
  return { name, url: url.toString(), drop, [Symbol.asyncDispose]: drop };
}
