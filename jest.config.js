/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
  // The native addon and the large fixtures load once per worker; two workers match CI's two cores.
  maxWorkers: 2,
};
