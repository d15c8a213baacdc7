// `pnpm db:seed` (prisma db seed): sample data for the demo, written through the packages by the
// demo's own seed script so it stays in step with their APIs.
import { spawn } from 'node:child_process';

const child = spawn('pnpm', ['--filter', '@cairn/demo', 'run', 'seed'], { stdio: 'inherit', env: process.env });
child.on('exit', (code) => process.exit(code ?? 1));
