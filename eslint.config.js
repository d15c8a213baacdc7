// typescript-eslint with type information, over every package's TypeScript (sources, tests,
// benches, examples). `pnpm lint` runs it after the type check with --max-warnings 0. A rule is
// switched off for one line only, as `// eslint-disable-next-line <rule> -- <why>`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // Generated Prisma code is not ours to fix. JavaScript files (tool configs, scripts/, the demo's
    // browser script) belong to no tsconfig project, so the type-aware rules cannot run on them;
    // nor does the package check's scratch-app fixture, which its own tsc checks once installed.
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/coverage/**',
      '**/.turbo/**',
      'packages/db/src/generated/**',
      'tools/package-check/test/app/with-own-prisma/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      // An async function without await is how a method keeps a Promise-returning contract.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
);
