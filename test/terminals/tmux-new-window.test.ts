/**
 * A new window's launch spec is one-shot: its launcher deletes it as it reads it. These tests
 * make tmux fail after the window was made (a real tmux on a socket of this file's own, behind
 * a wrapper that reports a failure once the window's launcher has taken its spec), and check
 * that tabcrew never runs that spec a second time: the tab it returns runs its program.
 */
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { TabHandle } from '../../src/terminals/backend.js';
import { TmuxBackend } from '../../src/terminals/tmux.js';
import { killTmuxServer, launcher, makeScratch, printing, tmuxSocket, waitFor } from './fixtures.js';

const socket = tmuxSocket('tabcrew-test-newwin');
const scratch = makeScratch('tabcrew-tmux-newwin-');
const { root, workDir } = scratch;
const runtimeDir = join(root, 'runtime');
const fault = join(root, 'fault');
const realTmux = execFileSync('/bin/sh', ['-c', 'command -v tmux'], { encoding: 'utf8' }).trim();

/**
 * tmux, except that while the file `fault` holds a failure, the next call that makes a window
 * runs in full, waits until the window's launcher has taken its spec, then reports that failure
 * as tmux would: its stderr, status 1, what tmux printed before it (`exited`: nothing, the
 * server went away before answering; `later`: the new window's id, as when a later command of
 * the list fails).
 */
const wrapper = join(root, 'tmux-with-faults');
writeFileSync(
  wrapper,
  `#!/bin/bash
case " $* " in *" -C "*) exec "${realTmux}" "$@" ;; esac
out=$(mktemp); err=$(mktemp)
"${realTmux}" "$@" >"$out" 2>"$err"; rc=$?
kind=$(cat "${fault}" 2>/dev/null)
case " $* " in *" new-window "*|*" new-session "*) makes=1 ;; *) makes= ;; esac
if [ -n "$kind" ] && [ -n "$makes" ] && [ $rc = 0 ]; then
  rm -f "${fault}"
  for a in "$@"; do case "$a" in */launch/tab-*) spec=$a ;; esac; done
  for i in $(seq 1 200); do [ -d "$spec" ] || break; sleep 0.01; done
  case "$kind" in
    exited) echo 'server exited unexpectedly' >&2 ;;
    later) cat "$out"; echo "can't find session: gone" >&2 ;;
  esac
  rm -f "$out" "$err"; exit 1
fi
cat "$out"; cat "$err" >&2; rm -f "$out" "$err"; exit $rc
`,
);
chmodSync(wrapper, 0o755);

const backend = new TmuxBackend({ socket, runtimeDir, tmuxPath: wrapper });
const launch = launcher({ group: 's-newwin1', cwd: workDir, title: 'new window' });

afterAll(async () => {
  await backend.dispose();
  killTmuxServer(socket);
  scratch.remove();
});

/** The screen once its program, or a launcher without a spec, has printed. */
const started = (tab: TabHandle) =>
  waitFor(`a program or the launcher to print in ${tab.id}`, async () => {
    const screen = await backend.readScreen(tab, 50);
    return /window up|launch spec/.test(screen) ? screen : undefined;
  });

/** The live windows that carry `tag`. */
async function windowsTagged(tag: string): Promise<string[]> {
  return (await backend.listTabs()).filter((t) => t.tag === tag && t.alive).map((t) => t.id);
}

describe('a new tmux window whose command list fails after the window was made', { timeout: 30_000 }, () => {
  it("a group's first window, whose tmux reports the server gone after making it, is made once from its spec, and the tab returned runs its program", async () => {
    writeFileSync(fault, 'exited');
    const tab = await backend.createTab(launch({ argv: printing('first window up'), tag: 'first' }));
    expect(existsSync(fault)).toBe(false);
    expect(await started(tab)).toContain('first window up');
    expect(await windowsTagged('first')).toEqual([tab.id]);
    expect(readdirSync(join(runtimeDir, 'launch'))).toEqual([]);
  });

  it('a window of a known group whose later command fails as if its session were gone is made once from its spec, and the tab returned runs its program', async () => {
    writeFileSync(fault, 'later');
    const tab = await backend.createTab(launch({ argv: printing('second window up'), tag: 'second' }));
    expect(existsSync(fault)).toBe(false);
    expect(await started(tab)).toContain('second window up');
    expect(await windowsTagged('second')).toEqual([tab.id]);
    expect(readdirSync(join(runtimeDir, 'launch'))).toEqual([]);
  });

  it('no fault: one tmux call for a window of a known group, as before', async () => {
    rmSync(fault, { force: true });
    const before = backend.calls;
    const tab = await backend.createTab(launch({ argv: printing('third window up'), tag: 'third' }));
    expect(backend.calls - before).toBe(1);
    expect(await started(tab)).toContain('third window up');
  });
});
