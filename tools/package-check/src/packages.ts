// The workspace's publishable packages (every manifest not marked private), packed as a user gets
// them: `pnpm pack` applies publishConfig and rewrites `workspace:*` and `catalog:` to versions.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root. */
export const REPO_DIR = fileURLToPath(new URL('../../..', import.meta.url));

/** One publishable package of the workspace. */
export interface PublishablePackage {
  name: string;
  version: string;
  /** Its directory in the workspace. */
  dir: string;
}

/** A package packed into a tarball. */
export interface PackedPackage extends PublishablePackage {
  /** Absolute path of the .tgz. */
  tarball: string;
}

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
}

/** Every package under packages/ whose manifest is not private, in directory order. */
export async function publishablePackages(): Promise<PublishablePackage[]> {
  const root = path.join(REPO_DIR, 'packages');
  const found: PublishablePackage[] = [];
  for (const entry of (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = path.join(root, entry.name);
    const manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as Manifest;
    if (manifest.private !== true) found.push({ name: manifest.name, version: manifest.version, dir });
  }
  return found;
}

/** `pnpm pack` of one package into `destination`; its dist/ must be built. */
export async function pack(pkg: PublishablePackage, destination: string): Promise<PackedPackage> {
  const { stdout } = await run('pnpm', ['pack', '--pack-destination', destination, '--json'], { cwd: pkg.dir, maxBuffer: 64 * 1024 * 1024 });
  const { filename } = JSON.parse(stdout) as { filename: string };
  return { ...pkg, tarball: path.isAbsolute(filename) ? filename : path.join(destination, path.basename(filename)) };
}

/** Packs every publishable package into `destination`. */
export async function packAll(destination: string): Promise<PackedPackage[]> {
  const packed: PackedPackage[] = [];
  for (const pkg of await publishablePackages()) packed.push(await pack(pkg, destination));
  return packed;
}

/**
 * `name@version` for each name, at the version the workspace's catalog (pnpm-workspace.yaml) pins:
 * what the packages here are built and tested with.
 */
export async function catalogSpecs(names: readonly string[]): Promise<string[]> {
  const yaml = await readFile(path.join(REPO_DIR, 'pnpm-workspace.yaml'), 'utf8');
  const section = /^catalog:\n((?:[ \t]+.*\n|\n)*)/m.exec(yaml)?.[1] ?? '';
  const catalog = new Map<string, string>();
  for (const line of section.split('\n')) {
    const entry = /^\s+"?([^":\s]+)"?:\s*(\S+)\s*$/.exec(line);
    if (entry?.[1] && entry[2]) catalog.set(entry[1], entry[2]);
  }
  return names.map((name) => {
    const version = catalog.get(name);
    if (!version) throw new Error(`${name} is not in the catalog of pnpm-workspace.yaml`);
    return `${name}@${version}`;
  });
}
