/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
  // The native addon and the large fixtures load once per worker; two workers match CI's two cores.
  maxWorkers: 2,
  // Quiet passing suites; failures with their console output, skipped tests with the reason, then jest's usual
  // totals (summaryThreshold: the failures are already printed once, with their output, as each file ends).
  reporters: ['<rootDir>/test/support/quiet-reporter.js', ['summary', { summaryThreshold: Infinity }]],
};
