/**
 * Jest on Node 24 with @swc/jest (fast transpile; types are checked by `npm run typecheck`).
 * One Temporal dev server and one throwaway database per run (tests/support/global-setup.ts);
 * each test file runs its own worker on its own task queue.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'commonjs' } }],
  },
  globalSetup: '<rootDir>/tests/support/global-setup.ts',
  globalTeardown: '<rootDir>/tests/support/global-teardown.ts',
  testTimeout: 90_000,
  maxWorkers: 2,
  forceExit: false,
};
