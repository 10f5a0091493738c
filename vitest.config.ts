import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Network suites bind loopback ports; forks keep each file's sockets in its own process.
    pool: 'forks',
    // The second reporter repeats why a suite was skipped (Chromium missing...) after the summary.
    reporters: ['default', './test/helpers/skip-reasons-reporter.ts'],
  },
});
