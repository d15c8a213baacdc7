// `pnpm db:migrate [prisma migrate dev options]`: `prisma migrate dev`, then what Prisma 7's
// migrate dev no longer does, so the next run sees the new models: regenerate the client and the
// row types, and rebuild @cairn/db and every package that depends on it (turbo skips the unchanged).
// Without that the old client stays in place; tsc may still pass against it, and the app fails at
// run time (`Cannot read properties of undefined (reading 'create')`).
// With --config <file> (a scratch copy of prisma/, as the tests make) only that copy is migrated and
// regenerated: the workspace's packages are not rebuilt from it.
import { spawn } from 'node:child_process';
import path from 'node:path';

const args = process.argv.slice(2);
const configAt = args.findIndex((arg) => arg === '--config' || arg.startsWith('--config='));
// `pnpm --filter` runs the CLI in packages/db: a relative config path is relative to where the user is.
const cwd = process.env.INIT_CWD ?? process.cwd();
let config;
if (configAt >= 0) {
  const inline = args[configAt].startsWith('--config=');
  const value = inline ? args[configAt].slice('--config='.length) : args[configAt + 1];
  config = path.resolve(cwd, value);
  args.splice(configAt, inline ? 1 : 2, `--config=${config}`);
}

function run(command, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${argv.join(' ')} ${signal ? `was killed by ${signal}` : `exited with ${code}`}`))));
  });
}

try {
  await run('pnpm', ['--filter', '@cairn/db', 'exec', 'prisma', 'migrate', 'dev', ...args]);
  await run('pnpm', ['--filter', '@cairn/db', 'exec', 'prisma', 'generate', ...(config ? [`--config=${config}`] : [])]);
  if (!config) await run('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=@cairn/db...']);
} catch (error) {
  console.error(`db:migrate: ${error.message}`);
  process.exitCode = 1;
}
