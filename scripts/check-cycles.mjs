// Fails when dependencies stop pointing one way: a cycle between workspace packages, a package that
// depends on an app, or a cycle between modules inside a package's src/ (relative imports, type-only
// ones included).
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// The groups pnpm-workspace.yaml declares (`- tools/*`), so a new group is checked without a second list to keep in step.
const workspaceYaml = readFileSync(path.join(root, 'pnpm-workspace.yaml'), 'utf8');
const packagesBlock = /^packages:\n((?:[ \t]+-.*\n?)+)/m.exec(workspaceYaml)?.[1] ?? '';
const groups = packagesBlock.split('\n').filter((line) => line.trim() !== '').map((line) => {
  const group = /^\s+-\s+['"]?([\w.-]+)\/\*['"]?\s*$/.exec(line)?.[1];
  if (group === undefined) throw new Error(`check-cycles understands workspace entries of the form group/*, not: ${line.trim()}`);
  return group;
});
if (groups.length === 0) throw new Error('check-cycles found no workspace groups in pnpm-workspace.yaml');
const workspaces = groups.flatMap((group) =>
  readdirSync(path.join(root, group))
    .map((name) => path.join(root, group, name))
    .filter((dir) => existsSync(path.join(dir, 'package.json'))),
);
const problems = [];

function findCycle(graph) {
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, 'active');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'active') return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) if (!state.has(node)) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

const manifests = new Map(workspaces.map((dir) => [JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name, dir]));
const packageGraph = new Map();
for (const [name, dir] of manifests) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const deps = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((d) => manifests.has(d));
  packageGraph.set(name, deps);
  for (const dep of deps) {
    if (manifests.get(dep).includes(`${path.sep}apps${path.sep}`)) problems.push(`${name} depends on the app ${dep}`);
  }
}
const packageCycle = findCycle(packageGraph);
if (packageCycle) problems.push(`package cycle: ${packageCycle.join(' -> ')}`);

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return entry === 'generated' ? [] : sourceFiles(full);
    return /\.ts$/.test(entry) && !/\.test\.ts$/.test(entry) ? [full] : [];
  });
}

for (const dir of workspaces) {
  const files = sourceFiles(path.join(dir, 'src'));
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets = [];
    // Type-only imports count too: two files that need each other's declarations are one concept.
    for (const m of text.matchAll(/^\s*(?:import|export)\s+[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      const target = path.resolve(path.dirname(file), m[1]).replace(/\.js$/, '.ts');
      if (files.includes(target)) targets.push(target);
    }
    graph.set(file, targets);
  }
  const cycle = findCycle(graph);
  if (cycle) problems.push(`module cycle: ${cycle.map((f) => path.relative(root, f)).join(' -> ')}`);
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`no dependency cycles (${manifests.size} workspace packages in ${groups.join(', ')})`);
