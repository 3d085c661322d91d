import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TmuxBackend } from '../../src/terminals/tmux.js';

const root = mkdtempSync(join(tmpdir(), 'tabcrew-tmux-rt-'));
const socket = `tabcrew-rt-${process.pid}`;
afterAll(() => {
  try {
    execFileSync('tmux', ['-L', socket, 'kill-server'], { stdio: 'ignore' });
  } catch {
    // already gone
  }
  // tmux leaves its socket file behind when the server exits.
  rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
  rmSync(root, { recursive: true, force: true });
});

const launch = (group: string, title: string) => ({
  group,
  cwd: root,
  argv: ['/bin/sleep', '30'],
  env: { PATH: '/usr/bin:/bin' },
  title,
  tag: `t-${title}`,
});

describe('tmux round trips', () => {
  it('a tab costs one tmux call, in a new group as in a known one', async () => {
    const b = new TmuxBackend({ socket, runtimeDir: join(root, 'rt') });
    await b.createTab(launch('g1', 'a'));
    expect(b.calls).toBe(1);
    await b.createTab(launch('g1', 'b'));
    expect(b.calls).toBe(2);
    await b.createTab(launch('g2', 'c'));
    expect(b.calls).toBe(3);
  });

  it('a later process that does not know the group yet needs at most two', async () => {
    const later = new TmuxBackend({ socket, runtimeDir: join(root, 'rt') });
    await later.createTab(launch('g1', 'd'));
    expect(later.calls).toBe(2);
    expect((await later.listTabs()).map((t) => t.title).sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});
