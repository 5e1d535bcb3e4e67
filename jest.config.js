/** Tests run from TypeScript sources; `npm test` builds first so end-to-end tests can spawn dist/main.js. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests', '<rootDir>/packages/automation-sdk-shim/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleNameMapper: {
    '^@sekoia/automation-sdk-shim$': '<rootDir>/packages/automation-sdk-shim/src/index.ts',
  },
  testTimeout: 30000,
};
