import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TmuxBackend } from '../../src/terminals/tmux.js';
import { tmuxSessionName } from '../../src/terminals/tmux-text.js';

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

  it('tabs asked for together in a known group share one tmux call, each in a window of its own', async () => {
    const b = new TmuxBackend({ socket, runtimeDir: join(root, 'rt') });
    await b.createTab(launch('g4', 'first'));
    const before = b.calls;
    const tabs = await Promise.all([1, 2, 3, 4, 5].map((i) => b.createTab(launch('g4', `together-${i}`))));
    // Not one each: the first may go alone, the others then wait for it and go together.
    expect(b.calls - before).toBeLessThan(5);
    expect(new Set(tabs.map((t) => t.id)).size).toBe(5);
    const listed = (await b.listTabs()).filter((t) => t.group === 'g4');
    expect(listed.map((t) => `${t.id} ${t.title}`).sort()).toEqual(
      [...tabs.map((t, i) => `${t.id} together-${i + 1}`), `${listed.find((t) => t.title === 'first')!.id} first`].sort(),
    );
  });

  it('tabs asked for together in a group whose tmux session was closed all land in it, made again', async () => {
    const b = new TmuxBackend({ socket, runtimeDir: join(root, 'rt') });
    await b.createTab(launch('g5', 'before'));
    execFileSync('tmux', ['-L', socket, 'kill-session', '-t', '=g5'], { stdio: 'ignore' });
    await Promise.all([1, 2, 3, 4].map((i) => b.createTab(launch('g5', `again-${i}`))));
    const listed = (await b.listTabs()).filter((t) => t.group === 'g5');
    expect(listed.map((t) => t.title).sort()).toEqual(['again-1', 'again-2', 'again-3', 'again-4']);
  });

  it("a group whose tmux session a listing no longer shows gets its next tab in one tmux call: the session made again at once (a recovery's first tab)", async () => {
    const b = new TmuxBackend({ socket, runtimeDir: join(root, 'rt') });
    await b.createTab(launch('g7', 'before'));
    execFileSync('tmux', ['-L', socket, 'kill-session', '-t', '=g7'], { stdio: 'ignore' });
    expect((await b.listTabs()).filter((t) => t.group === 'g7')).toEqual([]);
    const before = b.calls;
    await b.createTab(launch('g7', 'after'));
    expect(b.calls - before).toBe(1);
    // A group the listing shows stays known: its next tab is one call too.
    await b.listTabs();
    const known = b.calls;
    await b.createTab(launch('g7', 'next'));
    expect(b.calls - known).toBe(1);
    expect(
      (await b.listTabs())
        .filter((t) => t.group === 'g7')
        .map((t) => t.title)
        .sort(),
    ).toEqual(['after', 'next']);
  });

  it("a recovery's sixteen agent tabs, in a group a listing shows gone, go to tmux in one process that makes the session again with them", async () => {
    // As long as a user's: ~/.local/state/tabcrew/runtime, a session named after its project.
    const b = new TmuxBackend({ socket, runtimeDir: join(root, 'home-of-someone', '.local', 'state', 'tabcrew', 'runtime') });
    const group = 's-k3v9x2qa';
    const agent = (i: number) => ({
      ...launch(group, `Agent_${i + 1}`),
      groupTitle: 'web-frontend',
      tag: `tabcrew:Agent_${i + 1}:${'0123abcd-4567-89ab-cdef-0123456789ab'}`,
    });
    await b.createTab(agent(99));
    execFileSync('tmux', ['-L', socket, 'kill-session', '-t', `=${tmuxSessionName(group, agent(0).groupTitle)}`], { stdio: 'ignore' });
    expect((await b.listTabs()).filter((t) => t.group === group)).toEqual([]);
    const before = b.calls;
    const tabs = await Promise.all(Array.from({ length: 16 }, (_, i) => b.createTab(agent(i))));
    expect(b.calls - before).toBe(1);
    expect(new Set(tabs.map((t) => t.id)).size).toBe(16);
    const listed = (await b.listTabs()).filter((t) => t.group === group);
    expect(listed.map((t) => `${t.title} ${t.tag}`).sort()).toEqual(Array.from({ length: 16 }, (_, i) => `Agent_${i + 1} ${agent(i).tag}`).sort());
  });

  it('sixteen tabs asked for together, longer than one tmux command line may be, all open', async () => {
    const b = new TmuxBackend({ socket, runtimeDir: join(root, 'rt') });
    await b.createTab(launch('g6', 'first'));
    const long = (i: number) => `${'t'.repeat(600)}-${i}`;
    const tabs = await Promise.all(Array.from({ length: 16 }, (_, i) => b.createTab(launch('g6', long(i)))));
    expect(new Set(tabs.map((t) => t.id)).size).toBe(16);
    const listed = (await b.listTabs()).filter((t) => t.group === 'g6' && t.title !== 'first');
    expect(listed.map((t) => t.title).sort()).toEqual(Array.from({ length: 16 }, (_, i) => long(i)).sort());
  });
});
