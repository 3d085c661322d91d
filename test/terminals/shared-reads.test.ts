import { describe, expect, it } from 'vitest';
import { TerminalError, type TabHandle, type TabInfo, type TerminalBackend } from '../../src/terminals/backend.js';
import { withSharedReads } from '../../src/terminals/shared-reads.js';

/** A backend whose every read waits until the test lets it answer. */
function heldBackend(screens: Record<string, string>) {
  const log: string[] = [];
  const held: (() => void)[] = [];
  let calls = 0;
  let failNext: Error | undefined;
  const answer = <T>(what: string, value: () => T): Promise<T> => {
    calls++;
    log.push(what);
    return new Promise<T>((resolve, reject) =>
      held.push(() => {
        const e = failNext;
        failNext = undefined;
        if (e) reject(e);
        else resolve(value());
      }),
    );
  };
  const backend: TerminalBackend = {
    name: 'tmux',
    get calls() {
      return calls;
    },
    createTab: () => Promise.reject(new Error('not used')),
    paste: () => Promise.resolve(),
    sendKeys: () => Promise.resolve(),
    readScreen: (tab) =>
      answer(`screen ${tab.id}`, () => {
        if (!(tab.id in screens)) throw new TerminalError(`tab ${tab.id} is gone`, 'tab_gone');
        return screens[tab.id]!;
      }),
    readScreens: (tabs, lines) =>
      answer(`screens ${tabs.map((t) => t.id).join(',')} ${lines}`, () => new Map(tabs.filter((t) => t.id in screens).map((t) => [t.id, screens[t.id]!]))),
    listTabs: () => answer('list', (): TabInfo[] => [{ backend: 'tmux', id: '@1', tag: 't', group: 'g', title: 'a', alive: true }]),
    closeTab: () => Promise.resolve(),
    dispose: () => Promise.resolve(),
  };
  /** Lets every held call answer, then lets the callers run. */
  const release = async (): Promise<void> => {
    for (const go of held.splice(0)) go();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { backend, log, release, fail: (e: Error) => (failNext = e) };
}

const tab = (id: string): TabHandle => ({ backend: 'tmux', id });
/** The end of the current turn of the event loop, when a round gathered so far starts. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('shared terminal reads', () => {
  it('a screen read with none running goes to the terminal at the end of the current turn, as one read', async () => {
    const t = heldBackend({ '@1': 'one' });
    const shared = withSharedReads(t.backend);
    const read = shared.readScreen(tab('@1'), 40);
    expect(t.log).toEqual([]);
    await turn();
    expect(t.log).toEqual(['screen @1']);
    await t.release();
    expect(await read).toBe('one');
    expect(shared.calls).toBe(1);
  });

  it('screen reads that arrive while one runs share the next round trip, each getting its own last lines', async () => {
    const t = heldBackend({ '@1': 'one', '@2': 'a\nb\nc', '@3': 'x\ny' });
    const shared = withSharedReads(t.backend);
    const first = shared.readScreen(tab('@1'), 40);
    await turn();
    const second = shared.readScreen(tab('@2'), 2);
    const third = shared.readScreen(tab('@3'), 60);
    // The later two wait for the first: nothing answers them from a read that started before they asked.
    await turn();
    expect(t.log).toEqual(['screen @1']);
    await t.release();
    expect(t.log).toEqual(['screen @1', 'screens @2,@3 60']);
    await t.release();
    expect([await first, await second, await third]).toEqual(['one', 'b\nc', 'x\ny']);
    expect(shared.calls).toBe(2);
  });

  it('screen reads asked for in the same turn go together, the first one included (a fan-out woken by one answer)', async () => {
    const t = heldBackend({ '@1': 'one', '@2': 'two', '@3': 'three' });
    const shared = withSharedReads(t.backend);
    const reads = ['@1', '@2', '@3'].map((id) => shared.readScreen(tab(id), 40));
    await turn();
    expect(t.log).toEqual(['screens @1,@2,@3 40']);
    await t.release();
    expect(await Promise.all(reads)).toEqual(['one', 'two', 'three']);
    expect(shared.calls).toBe(1);
  });

  it('tab listings asked for in the same turn share one listing', async () => {
    const t = heldBackend({});
    const shared = withSharedReads(t.backend);
    const lists = [shared.listTabs(), shared.listTabs(), shared.listTabs()];
    await turn();
    expect(t.log).toEqual(['list']);
    await t.release();
    expect((await Promise.all(lists)).map((l) => l[0]!.id)).toEqual(['@1', '@1', '@1']);
  });

  it('a tab missing from a shared answer fails its own read only, as a tab that is gone', async () => {
    const t = heldBackend({ '@1': 'one', '@2': 'two' });
    const shared = withSharedReads(t.backend);
    const first = shared.readScreen(tab('@1'), 40);
    const gone = shared.readScreen(tab('@9'), 40);
    const goneSeen = expect(gone).rejects.toMatchObject({ code: 'tab_gone' });
    const there = shared.readScreen(tab('@2'), 40);
    await t.release();
    await t.release();
    expect(await first).toBe('one');
    expect(await there).toBe('two');
    await goneSeen;
  });

  it('a failed shared read reaches each of its callers, and the next round is made afresh', async () => {
    const t = heldBackend({ '@1': 'one', '@2': 'two' });
    const shared = withSharedReads(t.backend);
    const first = shared.readScreen(tab('@1'), 40);
    await turn();
    const later = Promise.allSettled([shared.readScreen(tab('@1'), 40), shared.readScreen(tab('@2'), 40)]);
    await t.release();
    t.fail(new TerminalError('tmux timed out', 'timeout'));
    await t.release();
    expect(await first).toBe('one');
    expect((await later).map((r) => r.status === 'rejected' && (r.reason as Error).message)).toEqual(['tmux timed out', 'tmux timed out']);
    const again = shared.readScreen(tab('@2'), 40);
    await turn();
    await t.release();
    expect(await again).toBe('two');
  });

  it('tab listings asked for while one runs share the next listing, each caller with its own copy', async () => {
    const t = heldBackend({});
    const shared = withSharedReads(t.backend);
    const first = shared.listTabs();
    await turn();
    const later = [shared.listTabs(), shared.listTabs(), shared.listTabs()];
    await turn();
    expect(t.log).toEqual(['list']);
    await t.release();
    await t.release();
    expect(t.log).toEqual(['list', 'list']);
    const [x, y] = await Promise.all(later);
    expect((await first)[0]!.id).toBe('@1');
    x![0]!.title = 'changed by one caller';
    expect(y![0]!.title).toBe('a');
  });

  it('typing is never held back by reads, nor merged for a backend without typeMany', async () => {
    const t = heldBackend({ '@1': 'one' });
    const typed: string[] = [];
    t.backend.paste = (tb, text) => (typed.push(`${tb.id}:${text}`), Promise.resolve());
    const shared = withSharedReads(t.backend);
    void shared.readScreen(tab('@1'), 40);
    await shared.paste(tab('@1'), 'hello');
    await shared.paste(tab('@1'), 'again');
    expect(typed).toEqual(['@1:hello', '@1:again']);
    await t.release();
  });
});
