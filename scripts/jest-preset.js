// The jest configuration every package shares: ESM TypeScript through SWC, workspace packages
// resolved to their sources, and the database template prepared once per run.
import { fileURLToPath } from 'node:url';

const dbTesting = fileURLToPath(new URL('../packages/db/testing/', import.meta.url));

/** @param {{ database?: boolean, testTimeout?: number }} [options] */
export function jestConfig(options = {}) {
  return {
    testEnvironment: 'node',
    testEnvironmentOptions: { customExportConditions: ['@cairn/source', 'node', 'node-addons'] },
    extensionsToTreatAsEsm: ['.ts'],
    moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
    // Sources import siblings as `./x.js` (NodeNext); map them back to the .ts files.
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript', decorators: false }, target: 'es2022', keepClassNames: true },
          module: { type: 'es6' },
          sourceMaps: 'inline',
        },
      ],
    },
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    testTimeout: options.testTimeout ?? 30_000,
    ...(options.database === false
      ? {}
      : {
          globalSetup: `${dbTesting}global-setup.js`,
          globalTeardown: `${dbTesting}global-teardown.js`,
        }),
  };
}
