// Loads an optional peer dependency on first use. PGlite (the embedded database) and the WASM
// schema engine (migrations) are large and only some applications need them; when one is missing,
// the error names the feature and the exact install command instead of a bare ERR_MODULE_NOT_FOUND.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MissingDependencyError } from './errors.js';
import { PACKAGE_DIR } from './prisma-files.js';

/** The version range this package declares for `name` (in the published manifest, a real range). */
function declaredRange(name: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
      peerDependencies?: Record<string, string>;
    };
    const range = manifest.peerDependencies?.[name];
    // Inside the workspace the manifest says `catalog:`; pnpm pack writes the version instead.
    return range && !/^(catalog|workspace):/.test(range) ? range : undefined;
  } catch {
    return undefined;
  }
}

/** `name@range` as an install argument. */
function installSpec(name: string): string {
  const range = declaredRange(name);
  return range ? `${name}@${range}` : name;
}

function isModuleNotFound(error: unknown, names: readonly string[]): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && names.some((name) => error.message.includes(name));
}

/**
 * Runs `load` (dynamic imports of `packages`); a missing one becomes a MissingDependencyError for
 * `feature` naming every package it needs. Other failures pass through unchanged.
 */
export async function loadOptional<T>(feature: string, packages: readonly string[], load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isModuleNotFound(error, packages)) throw new MissingDependencyError(feature, packages.map(installSpec), { cause: error });
    throw error;
  }
}
