// `pnpm lint:packages`: every publishable package as it would be published (dist/ built first by
// turbo), packed with pnpm and checked three ways: publint (manifest, exports, files), arethetypeswrong
// (types resolve for each entry), and `npm publish --dry-run` of the very tarball. Prints one line
// per package and check, and fails when any check fails.
//
// attw runs with its `esm-only` profile: the packages are ESM only ("type": "module", no `require`
// condition, Prisma 7's client is ESM), so CommonJS resolution (node10, node16 from CJS) is expected
// to fail and is not a defect; types under node16 from ESM and under bundler resolution must be right.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { packAll, type PackedPackage } from './packages.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

interface CheckResult {
  ok: boolean;
  output: string;
}

async function runPublint(pkg: PackedPackage): Promise<CheckResult> {
  const tarball = await readFile(pkg.tarball);
  const { messages, pkg: manifest } = await publint({
    pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
    strict: true,
  });
  const lines = messages.map((message) => `${message.type}: ${formatMessage(message, manifest, { color: false }) ?? message.code}`);
  return { ok: messages.every((message) => message.type === 'suggestion'), output: lines.join('\n') };
}

async function runCommand(command: string, args: string[], cwd: string): Promise<CheckResult> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, FORCE_COLOR: '0' } });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` || failed.message };
  }
}

function runAttw(pkg: PackedPackage): Promise<CheckResult> {
  const cli = path.join(path.dirname(require.resolve('@arethetypeswrong/cli/package.json')), 'dist', 'index.js');
  return runCommand(process.execPath, [cli, pkg.tarball, '--profile', 'esm-only', '--format', 'table', '--no-emoji', '--no-color'], path.dirname(pkg.tarball));
}

function runPublishDryRun(pkg: PackedPackage): Promise<CheckResult> {
  return runCommand('npm', ['publish', '--dry-run', '--access', 'public', pkg.tarball], path.dirname(pkg.tarball));
}

const destination = await mkdtemp(path.join(tmpdir(), 'cairn-packages-'));
try {
  const packed = await packAll(destination);
  let failures = 0;
  for (const pkg of packed) {
    const checks: [string, CheckResult][] = [
      ['publint', await runPublint(pkg)],
      ['attw --profile esm-only', await runAttw(pkg)],
      ['npm publish --dry-run', await runPublishDryRun(pkg)],
    ];
    for (const [name, result] of checks) {
      console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${pkg.name}@${pkg.version}: ${name}`);
      if (!result.ok) {
        failures += 1;
        console.log(result.output.replace(/^/gm, '     '));
      } else if (name === 'publint' && result.output) {
        console.log(result.output.replace(/^/gm, '     '));
      }
    }
  }
  console.log(`${packed.length} packages, ${failures === 0 ? 'every check passed' : `${failures} check(s) failed`}`);
  process.exitCode = failures === 0 ? 0 : 1;
} finally {
  await rm(destination, { recursive: true, force: true });
}
