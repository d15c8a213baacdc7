// Removes build outputs (the paths given, relative to the current directory) before a build, so a
// module deleted from src/ cannot survive in dist/ and reach a packed tarball. Portable: Node only.
import { rmSync } from 'node:fs';

for (const target of process.argv.slice(2)) rmSync(target, { recursive: true, force: true });
