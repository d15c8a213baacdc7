// Runs a TypeScript entry point of this package in a child process (as `npx tsx`, with workspace
// packages resolved to their sources) and returns its stdout lines.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));

export function runTsx(script: string, args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', '--conditions=@cairn/source', script, ...args], { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(out.split('\n').filter((l) => l.trim() !== ''));
      else reject(new Error(`${script} exited with ${code}: ${err}`));
    });
  });
}
