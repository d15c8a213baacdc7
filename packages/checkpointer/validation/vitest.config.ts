// Runs LangGraph's official checkpoint-saver conformance suite against CairnSaver. It is written
// for Vitest (expect.soft), and its CLI is broken in 1.1.1, so a Vitest file calls validate().
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: { conditions: ['@cairn/source', 'node'] },
  ssr: { resolve: { conditions: ['@cairn/source', 'node'] } },
  test: {
    globals: true,
    include: ['validation/**/*.spec.ts'],
    globalSetup: ['validation/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    server: { deps: { inline: [/@cairn\//] } },
  },
});
