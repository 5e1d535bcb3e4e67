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
  // On a 2-core machine Jest runs every file in one process (maxWorkers = cores - 1 = 1). Twice in
  // dozens of runs it then waited forever after the last test for a handle it could not name
  // (--detectOpenHandles never reproduced it). CI must not hang for 90 minutes on that: exit once
  // the results are in. Tests still close their servers and children themselves.
  forceExit: true,
};
