import { Rounds } from '../util/rounds.js';
import { TerminalError, type TabHandle, type TabInfo, type TerminalBackend } from './backend.js';
import { TypingRounds } from './shared-typing.js';

/**
 * Reads of the terminal made at the same moment share round trips. A fan-out to 64 agents
 * makes 64 deliveries look at their screens and list the tabs at once; alone, each is one
 * terminal process (tmux, osascript), and 64 of them at once cost more CPU than the agents'
 * own work. Here a read that arrives while another read of its kind is running waits for
 * it and goes with every other such read into the next round trip: the tab listing once
 * for all of them, the screens through one `readScreens`. A read is never answered by a
 * round trip that started before it was asked, so nothing reads older than it would alone;
 * a read with none running waits only for the end of the current turn of the event loop
 * (util/rounds.ts), so that reads asked for together go together.
 *
 * Typing at the same moment is shared the same way (shared-typing.ts); tab changes go to
 * the backend as they come.
 */
export function withSharedReads(backend: TerminalBackend): TerminalBackend {
  const listing = new ListingRounds(backend);
  const screens = new ScreenRounds(backend);
  const typing = new TypingRounds(backend);
  return {
    name: backend.name,
    get calls() {
      return backend.calls;
    },
    createTab: (launch) => backend.createTab(launch),
    paste: (tab, text) => typing.paste(tab, text),
    sendKeys: (tab, keys) => typing.sendKeys(tab, keys),
    readScreen: (tab, lines) => screens.read(tab, lines),
    readScreens: (tabs, lines) => backend.readScreens(tabs, lines),
    ...(backend.typeMany ? { typeMany: (inputs) => backend.typeMany!(inputs) } : {}),
    // Each caller its own copy. A TabInfo holds only plain values, so a spread copies it whole:
    // structuredClone of 67 tabs for each of a 64-agent fan-out's 128 looks cost ~80 ms of CPU.
    listTabs: () => listing.list(),
    closeTab: (tab) => backend.closeTab(tab),
    dispose: () => backend.dispose(),
    ...(backend.preflight ? { preflight: () => backend.preflight!() } : {}),
  };
}

/** Tab listings in rounds: one listTabs for every caller of a round, each with its own copy. */
class ListingRounds {
  private readonly rounds = new Rounds<{ resolve: (tabs: TabInfo[]) => void; reject: (e: unknown) => void }>(async (round) => {
    try {
      const tabs = await this.backend.listTabs();
      for (const w of round) w.resolve(tabs.map((t) => ({ ...t })));
    } catch (e) {
      for (const w of round) w.reject(e);
    }
  });

  constructor(private readonly backend: TerminalBackend) {}

  list(): Promise<TabInfo[]> {
    return new Promise((resolve, reject) => this.rounds.add({ resolve, reject }));
  }
}

interface ScreenWanted {
  tab: TabHandle;
  lines: number;
  resolve: (screen: string) => void;
  reject: (e: unknown) => void;
}

/** Screen reads in rounds: one alone goes as readScreen, several as one readScreens. */
class ScreenRounds {
  private readonly rounds = new Rounds<ScreenWanted>((round) => this.serve(round));

  constructor(private readonly backend: TerminalBackend) {}

  read(tab: TabHandle, lines: number): Promise<string> {
    // A bad count is the backend's to refuse, in its words.
    if (!Number.isFinite(lines) || lines < 1) return this.backend.readScreen(tab, lines);
    return new Promise((resolve, reject) => {
      this.rounds.add({ tab, lines, resolve, reject });
    });
  }

  private async serve(round: ScreenWanted[]): Promise<void> {
    // Two handles of one tab naming different panes cannot share a readScreens answer
    // (it is keyed by tab id): all but the first such go alone.
    const byId = new Map<string, TabHandle>();
    const alone: ScreenWanted[] = [];
    const shared: ScreenWanted[] = [];
    for (const w of round) {
      const seen = byId.get(w.tab.id);
      if (seen && seen.pane !== w.tab.pane) alone.push(w);
      else {
        byId.set(w.tab.id, w.tab);
        shared.push(w);
      }
    }
    const solo = (w: ScreenWanted): Promise<void> => this.backend.readScreen(w.tab, w.lines).then(w.resolve, w.reject);
    if (shared.length === 1) await solo(shared[0]!);
    else if (shared.length > 1) {
      try {
        // The most lines anyone asked for; each caller gets its own last lines of them.
        const lines = Math.max(...shared.map((w) => w.lines));
        const screens = await this.backend.readScreens([...byId.values()], lines);
        for (const w of shared) {
          const screen = screens.get(w.tab.id);
          if (screen === undefined) w.reject(new TerminalError(`tab ${w.tab.id} is gone (its screen could not be read)`, 'tab_gone'));
          else w.resolve(lastLines(screen, w.lines));
        }
      } catch (e) {
        for (const w of shared) w.reject(e);
      }
    }
    await Promise.all(alone.map(solo));
  }
}

function lastLines(text: string, n: number): string {
  const lines = text.split('\n');
  return lines.length <= n ? text : lines.slice(-Math.floor(n)).join('\n');
}
