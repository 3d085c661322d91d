import { describe, expect, it } from 'vitest';
import { defaultConfig, withResolvedPaths } from '../../src/config.js';

describe('paths given to tabcrew', () => {
  it('dir flags and allowed roots with a leading ~ (a JSON config, a quoted value) are under HOME, not a folder named ~', () => {
    const home = process.env.HOME;
    process.env.HOME = '/home/someone';
    try {
      const c = withResolvedPaths({ ...defaultConfig(), stateDir: '~/tc/state', logDir: '~/tc/logs', runtimeDir: '~/tc/run', allowedRoots: ['~/code', '~'] });
      expect([c.stateDir, c.logDir, c.runtimeDir]).toEqual(['/home/someone/tc/state', '/home/someone/tc/logs', '/home/someone/tc/run']);
      expect(c.allowedRoots).toEqual(['/home/someone/code', '/home/someone']);
    } finally {
      process.env.HOME = home;
    }
  });
});
