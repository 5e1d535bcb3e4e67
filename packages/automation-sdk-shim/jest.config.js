/**
 * The shim's own tests, from TypeScript sources: `npm test -w packages/automation-sdk-shim`
 * alone, or as one project of the repository's `npm test` (see ../../jest.config.js).
 */
module.exports = {
  displayName: 'automation-sdk-shim',
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  // Tests run the sources; the README example test checks the built package's `exports` itself.
  moduleNameMapper: {
    '^@sekoia/automation-sdk-shim$': '<rootDir>/src/index.ts',
    '^@sekoia/automation-sdk-shim/testing$': '<rootDir>/src/testing/index.ts',
  },
  testTimeout: 30000,
};
