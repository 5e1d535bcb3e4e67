/**
 * Tests run from TypeScript sources; `npm test` builds first so end-to-end tests can spawn
 * dist/main.js. Two projects, each file run once: the module's tests, and the shim's own
 * (packages/automation-sdk-shim/jest.config.js, also run alone by `npm test -w`).
 */
module.exports = {
  // Global options (testTimeout is one) are read here, not from the projects.
  testTimeout: 30000,
  projects: [
    {
      displayName: 'trend-micro-email-security',
      rootDir: __dirname,
      testEnvironment: 'node',
      roots: ['<rootDir>/tests'],
      testMatch: ['**/*.test.ts'],
      transform: {
        '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
      },
      moduleNameMapper: {
        '^@sekoia/automation-sdk-shim$': '<rootDir>/packages/automation-sdk-shim/src/index.ts',
        '^@sekoia/automation-sdk-shim/testing$':
          '<rootDir>/packages/automation-sdk-shim/src/testing/index.ts',
      },
    },
    '<rootDir>/packages/automation-sdk-shim',
  ],
};
