import { defineConfig } from 'vitest/config';

// Unit-level files run three at a time; the e2e files (real Claude Code, tmux, sshd, chromium)
// run after them, three at a time where they mostly wait on agents (on 2 cores: they wait more
// than they compute, and the third keeps the CPU busy while two wait), and the few that measure
// races, drive dialogs, keep both cores busy (crash-safety's 200 operations) or script a long turn (sandbox) alone, last.
const alone = ['test/e2e/two-servers.test.ts', 'test/e2e/permissions.test.ts', 'test/e2e/crash-safety.test.ts', 'test/e2e/sandbox.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 180_000,
    hookTimeout: 120_000,
    maxWorkers: 3,
    minWorkers: 1,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/e2e/**'], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], exclude: alone, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: {
          name: 'e2e-alone',
          include: alone,
          poolOptions: { forks: { singleFork: true } },
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
