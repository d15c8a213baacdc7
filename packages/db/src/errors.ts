// Errors raised by @cairn/db. Each carries a stable `code`; messages never contain passwords.
import { CairnError, type CairnErrorOptions } from '@cairn/core';

/** Base class of @cairn/db errors. */
export class DbError extends CairnError {
  override readonly name: string = 'DbError';
}

/** DATABASE_URL (or `url`) is not a usable PostgreSQL connection string. */
export class DatabaseUrlError extends DbError {
  override readonly name = 'DatabaseUrlError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('INVALID_DATABASE_URL', message, { category: 'invalid_input', ...options });
  }
}

/** The database could not be reached or refused the connection within the connect timeout. */
export class DatabaseUnavailableError extends DbError {
  override readonly name = 'DatabaseUnavailableError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('DATABASE_UNAVAILABLE', message, { category: 'unavailable', ...options });
  }
}

/** The `vector` extension is neither installed nor available to install. */
export class ExtensionMissingError extends DbError {
  override readonly name = 'ExtensionMissingError';
  constructor(extension: string, message: string, options: CairnErrorOptions = {}) {
    super('EXTENSION_MISSING', message, { category: 'internal', ...options, details: { extension, ...options.details } });
  }
}

/** Applying migrations failed. The database is left as `prisma migrate status` describes. */
export class MigrationError extends DbError {
  override readonly name = 'MigrationError';
  constructor(message: string, options: CairnErrorOptions = {}) {
    super('MIGRATION_FAILED', message, options);
  }
}

/** Another process already holds the embedded database's data directory. */
export class EmbeddedDatabaseLockedError extends DbError {
  override readonly name = 'EmbeddedDatabaseLockedError';
  constructor(dataDir: string, ownerPid: number) {
    super(
      'EMBEDDED_DATABASE_LOCKED',
      `The embedded database at ${dataDir} is in use by process ${ownerPid}. Stop that process, or give this one another dataDir.`,
      { category: 'unavailable', details: { dataDir, ownerPid } },
    );
  }
}

/**
 * A feature needs a package this application did not install: the embedded database needs PGlite,
 * migrations need the WASM schema engine. They are optional peer dependencies of @cairn/db, so an
 * app that connects to its own migrated PostgreSQL installs neither. `details.install` is the
 * command that fixes it.
 */
export class MissingDependencyError extends DbError {
  override readonly name = 'MissingDependencyError';
  readonly packages: readonly string[];
  constructor(feature: string, packages: readonly string[], options: CairnErrorOptions = {}) {
    const install = `npm install ${packages.join(' ')}`;
    super('DEPENDENCY_MISSING', `${feature} needs ${packages.map((p) => p.replace(/(.)@[^@]*$/, '$1')).join(', ')}, which this application does not have installed. Install ${packages.length === 1 ? 'it' : 'them'}: \`${install}\``, {
      category: 'invalid_input',
      ...options,
      details: { feature, packages, install, ...options.details },
    });
    this.packages = packages;
  }
}
