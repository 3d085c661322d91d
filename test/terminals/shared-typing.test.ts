import { describe, expect, it } from 'vitest';
import { TerminalError, type TabHandle, type TabInput, type TerminalBackend } from '../../src/terminals/backend.js';
import { withSharedReads } from '../../src/terminals/shared-reads.js';

const tab = (id: string): TabHandle => ({ backend: 'tmux', id });
/** The end of the current turn of the event loop, when a round gathered so far starts. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const describeInput = (i: TabInput): string => ('keys' in i ? `${i.tab.id} keys ${i.keys.join('+')}` : `${i.tab.id} paste ${i.text}`);

/** A backend whose every typing call waits until the test lets it answer; tabs in `gone` fail. */
function heldTyping(opts: { many: boolean; gone?: string[] }) {
  const log: string[] = [];
  const held: (() => void)[] = [];
  const gone = new Set(opts.gone ?? []);
  const hold = <T>(what: string, value: () => T): Promise<T> => {
    log.push(what);
    return new Promise<T>((resolve, reject) =>
      held.push(() => {
        try {
          resolve(value());
        } catch (e) {
          reject(e);
        }
      }),
    );
  };
  const failIfGone = (t: TabHandle): void => {
    if (gone.has(t.id)) throw new TerminalError(`tab ${t.id} is gone`, 'tab_gone');
  };
  const backend: TerminalBackend = {
    name: 'tmux',
    calls: 0,
    createTab: () => Promise.reject(new Error('not used')),
    paste: (t, text) => hold(`paste ${t.id} ${text}`, () => failIfGone(t)),
    sendKeys: (t, keys) => hold(`keys ${t.id} ${keys.join('+')}`, () => failIfGone(t)),
    readScreen: () => Promise.reject(new Error('not used')),
    readScreens: () => Promise.reject(new Error('not used')),
    listTabs: () => Promise.resolve([]),
    closeTab: () => Promise.resolve(),
    dispose: () => Promise.resolve(),
    ...(opts.many
      ? {
          typeMany: (inputs: readonly TabInput[]) =>
            hold(`many [${inputs.map(describeInput).join(', ')}]`, () =>
              inputs.map((i) => (gone.has(i.tab.id) ? new TerminalError(`tab ${i.tab.id} is gone`, 'tab_gone') : undefined)),
            ),
        }
      : {}),
  };
  const release = async (): Promise<void> => {
    for (const go of held.splice(0)) go();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { backend, log, release };
}

describe('shared typing', () => {
  it('a paste with no typing running goes to the terminal at the end of the current turn, as one paste', async () => {
    const t = heldTyping({ many: true });
    const shared = withSharedReads(t.backend);
    const typed = shared.paste(tab('@1'), 'hello');
    await turn();
    expect(t.log).toEqual(['paste @1 hello']);
    await t.release();
    await expect(typed).resolves.toBeUndefined();
  });

  it('pastes and keys that arrive while typing runs share the next round trip, in the order they came', async () => {
    const t = heldTyping({ many: true });
    const shared = withSharedReads(t.backend);
    const first = shared.paste(tab('@1'), 'one');
    await turn();
    const later = [shared.paste(tab('@2'), 'two'), shared.sendKeys(tab('@3'), ['Enter']), shared.sendKeys(tab('@2'), ['Escape', 'Escape'])];
    // Nothing is typed by a round trip that started before it was asked.
    await turn();
    expect(t.log).toEqual(['paste @1 one']);
    await t.release();
    expect(t.log).toEqual(['paste @1 one', 'many [@2 paste two, @3 keys Enter, @2 keys Escape+Escape]']);
    await t.release();
    await expect(Promise.all([first, ...later])).resolves.toEqual([undefined, undefined, undefined, undefined]);
  });

  it('pastes asked for in the same turn go as one round trip, the first one included (a fan-out woken by one answer)', async () => {
    const t = heldTyping({ many: true });
    const shared = withSharedReads(t.backend);
    const typed = [shared.paste(tab('@1'), 'one'), shared.paste(tab('@2'), 'two')];
    await turn();
    expect(t.log).toEqual(['many [@1 paste one, @2 paste two]']);
    await t.release();
    await expect(Promise.all(typed)).resolves.toEqual([undefined, undefined]);
  });

  it('an input whose tab is gone fails on its own; the others of its round are typed', async () => {
    const t = heldTyping({ many: true, gone: ['@2'] });
    const shared = withSharedReads(t.backend);
    const first = shared.sendKeys(tab('@1'), ['Enter']);
    const ok = shared.paste(tab('@3'), 'three');
    const lost = shared.paste(tab('@2'), 'two').catch((e: unknown) => e);
    await turn();
    await t.release();
    await t.release();
    await expect(first).resolves.toBeUndefined();
    await expect(ok).resolves.toBeUndefined();
    expect(await lost).toMatchObject({ code: 'tab_gone' });
  });

  it('a backend without typeMany types each input as it comes, none held', async () => {
    const t = heldTyping({ many: false });
    const shared = withSharedReads(t.backend);
    const typed = [shared.paste(tab('@1'), 'one'), shared.paste(tab('@2'), 'two'), shared.sendKeys(tab('@1'), ['Enter'])];
    expect(t.log).toEqual(['paste @1 one', 'paste @2 two', 'keys @1 Enter']);
    await t.release();
    await expect(Promise.all(typed)).resolves.toEqual([undefined, undefined, undefined]);
  });
});
