#!/usr/bin/env node
// The `cairn` bin of @cairn/cairn: reads the process's arguments and environment, runs the command,
// and sets the exit code (not process.exit, so pending output is flushed first).
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2), process.env, {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
});
