import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Network suites bind loopback ports; forks keep each file's sockets in its own process.
    pool: 'forks',
    reporters: ['default'],
  },
});
