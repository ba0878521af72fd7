// Flat config: typescript-eslint's recommended rules, floating promises forbidden everywhere (they lose errors and
// break workflow determinism), and the workflow sandbox rule: workflows/ may not import anything with I/O.
const tseslint = require('typescript-eslint');
const { builtinModules } = require('node:module');

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', 'coverage/**', 'tests/fixtures/sites/**', 'jest.config.js', 'eslint.config.js'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code must be deterministic: no Node built-ins (use an activity).' })),
          patterns: [
            {
              group: ['**/activities', '**/activities/**', '**/api/**', '**/db/**', '**/worker/**', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@mikro-orm/*', 'koa', 'pg'],
              allowTypeImports: true,
              message: 'Workflow code may only import types from I/O modules (import type ...), never their code.',
            },
          ],
        },
      ],
    },
  },
  {
    // The dashboard's browser script (api/admin-ui/, served as is): outside the TypeScript project, so no type-aware rules.
    ...tseslint.configs.disableTypeChecked,
    files: ['api/admin-ui/**/*.js'],
  },
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
