// Build step: copies the repository's prisma/schema.prisma and prisma/migrations/ into this
// package (prisma/, ignored by git), so a packed @cairn/db carries the files it migrates with.
// The root stays the source of truth; the copy is replaced whole on every build.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const source = path.resolve(packageDir, '../../prisma');
const target = path.join(packageDir, 'prisma');
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
cpSync(path.join(source, 'schema.prisma'), path.join(target, 'schema.prisma'));
cpSync(path.join(source, 'migrations'), path.join(target, 'migrations'), { recursive: true });
