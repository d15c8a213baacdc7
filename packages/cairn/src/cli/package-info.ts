// The umbrella's own manifest, read at run time so the CLI's version and its Node.js check say
// what package.json says (src/cli/ and dist/cli/ both sit two levels below it).
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const ManifestSchema = z.object({ name: z.string(), version: z.string(), engines: z.object({ node: z.string() }) });

/** Name, version and `engines.node` of @cairn/cairn. */
export function packageInfo(): z.infer<typeof ManifestSchema> {
  return ManifestSchema.parse(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')));
}

/**
 * Whether `version` (`20.19.0`, `v22.12.1`) satisfies a range of the form `engines.node` uses here:
 * alternatives joined by `||`, each `^major.minor[.patch]`, `>=major[.minor[.patch]]` or a bare
 * major. Throws on any other form, so a new range in package.json cannot be misread silently.
 */
export function satisfiesNodeRange(version: string, range: string): boolean {
  const parse = (text: string): number[] => {
    const parts = text.replace(/^v/, '').split('.').map(Number);
    if (parts.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`not a version: ${text}`);
    return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
  };
  const compare = (a: number[], b: number[]): number => a.reduce((found, n, i) => found || n - (b[i] ?? 0), 0);
  const actual = parse(version);
  return range.split('||').some((alternative) => {
    const clause = alternative.trim();
    const match = /^(\^|>=)?(\d+(?:\.\d+){0,2})$/.exec(clause);
    if (!match) throw new Error(`satisfiesNodeRange does not understand the range clause '${clause}'`);
    const floor = parse(match[2]!);
    if (match[1] === '>=') return compare(actual, floor) >= 0;
    return actual[0] === floor[0] && compare(actual, floor) >= 0;
  });
}
