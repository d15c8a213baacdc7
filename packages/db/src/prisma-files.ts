// Where @cairn/db reads the schema and the migrations it applies. prisma/ at the repository root is
// the one source of truth; the package build copies it into the package (packages/db/prisma/, not
// committed), so an installed @cairn/db reads its own copy. Inside the Cairn repository the root
// wins, so a stale copy from an earlier build is never what the tests or the CLI see.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's own directory (holding dist/, engine/ and, once built, prisma/). */
export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * The Cairn repository root when this package is its packages/db (identified by the root
 * manifest's name, not by a prisma/ folder: an app installing @cairn/db with npm has the package at
 * node_modules/@cairn/db, two levels below its own root, which may well hold a prisma/ of its own).
 */
function cairnRepositoryRoot(): string | undefined {
  const root = path.resolve(PACKAGE_DIR, '../..');
  try {
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name?: unknown };
    return manifest.name === 'cairn-monorepo' && existsSync(path.join(root, 'prisma', 'schema.prisma')) ? root : undefined;
  } catch {
    return undefined;
  }
}

const root = cairnRepositoryRoot();

/** The directory holding `schema.prisma` and `migrations/`. */
export const PRISMA_DIR = root ? path.join(root, 'prisma') : path.join(PACKAGE_DIR, 'prisma');
/** Cairn's Prisma schema. */
export const SCHEMA_PATH = path.join(PRISMA_DIR, 'schema.prisma');
/** Cairn's migrations, in Prisma's format (one folder per migration). */
export const MIGRATIONS_DIR = path.join(PRISMA_DIR, 'migrations');
