import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/helpers/globalSetup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Two cores: one file at a time keeps broker, registry and services responsive.
          fileParallelism: false,
        },
      },
      {
        // The long variants (`make soak`): minutes of load, a storm of kills.
        test: {
          name: 'soak',
          include: ['test/soak/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/helpers/globalSetup.ts'],
          testTimeout: 7_200_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
