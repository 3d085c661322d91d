/**
 * What tabcrew needs from a terminal: tabs, not agents. A backend never learns what
 * Claude Code is; the supervisor maps agents to tabs through the `tag` it sets.
 *
 * Every method is one round trip to the terminal (one tmux / osascript process), so the
 * supervisor can reason about cost: listing every tab is one call, whatever their number.
 */

import type { TabHandle as StoredTab } from '../store/types.js';

export type BackendName = 'tmux' | 'iterm2' | 'pty';

/** A program to start in a new tab. Data only: a backend never passes it through a shell. */
export interface TabLaunch {
  /** Tab group: tabs of one tabcrew session share one (a tmux session, an iTerm2 window). */
  group: string;
  /** What a person knows the group by (the tabcrew session's name): part of the tmux session's name. */
  groupTitle?: string;
  /** Absolute working directory of the program. */
  cwd: string;
  /** Program and its arguments, exec'd as they are. */
  argv: string[];
  /** The complete environment of the program (not merged with the terminal's). */
  env: Record<string, string>;
  /** Shown to a person watching the terminal (window/tab title). */
  title: string;
  /** Opaque marker a later process re-finds the tab by (`@tabcrew_tag`, `user.tabcrew`). */
  tag: string;
}

/** Where a tab lives; stored with the agent so a later tabcrew can find it again. */
export interface TabHandle {
  backend: BackendName;
  /** tmux window id (`@3`), iTerm2 session GUID, or pty id. */
  id: string;
  /** tmux pane id (`%5`), when the backend has one. */
  pane?: string;
  pid?: number;
  tty?: string;
}

export interface TabInfo extends TabHandle {
  tag: string | null;
  group: string | null;
  title: string;
  /** False once the program in the tab has ended (the tab may still be open). */
  alive: boolean;
  exitStatus?: number;
}

export interface TerminalBackend {
  readonly name: BackendName;
  /** Round trips made so far; tests and benchmarks read it. */
  readonly calls: number;
  createTab(launch: TabLaunch): Promise<TabHandle>;
  /**
   * Types `text` into the tab as a bracketed paste (when the program asked for bracketed
   * paste), so newlines stay newlines. The text must already be sanitised.
   */
  paste(tab: TabHandle, text: string): Promise<void>;
  /** Sends named keys (`Enter`, `Escape`, `C-c`), never text. */
  sendKeys(tab: TabHandle, keys: readonly TerminalKey[]): Promise<void>;
  /**
   * Several pastes and keys, each typed as paste / sendKeys would type it, in order, in as
   * few round trips as the terminal allows. One result per input: undefined when it was
   * typed, the error of that input alone otherwise (a closed tab fails only its own input).
   * Optional: a backend without it types one input per call.
   */
  typeMany?(inputs: readonly TabInput[]): Promise<(TerminalError | undefined)[]>;
  /** Plain text of the last `lines` lines (screen plus scrollback). */
  readScreen(tab: TabHandle, lines: number): Promise<string>;
  /** Screens of several tabs in one round trip; tabs that are gone are left out. */
  readScreens(tabs: readonly TabHandle[], lines: number): Promise<Map<string, string>>;
  /** Every tab this backend can see, tagged or not, in one round trip. */
  listTabs(): Promise<TabInfo[]>;
  /** Closes the tab and ends its program. Closing a tab that is gone is not an error. */
  closeTab(tab: TabHandle): Promise<void>;
  /** Releases what the backend holds in this process (not the tabs themselves). */
  dispose(): Promise<void>;
  /**
   * Checks the terminal can be driven at all, where that can fail for reasons a person must
   * fix (iTerm2: Automation permission). Throws a TerminalError saying what to do.
   */
  preflight?(): Promise<unknown>;
}

/** One thing to type into a tab: a paste of (sanitised) text, or named keys. */
export type TabInput = { tab: TabHandle; text: string } | { tab: TabHandle; keys: readonly TerminalKey[] };

export type TerminalKey = 'Enter' | 'Escape' | 'C-c' | 'C-u' | 'BSpace' | 'Down' | 'Up';

/** A terminal failure a person can act on; `code` lets callers branch without parsing text. */
export class TerminalError extends Error {
  constructor(
    message: string,
    readonly code: 'not_running' | 'denied' | 'tab_gone' | 'timeout' | 'failed',
  ) {
    super(message);
    this.name = 'TerminalError';
  }
}

// The state keeps the tabs this layer hands out (store/types.ts): the two shapes must stay one.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const tabShapesAgree: Same<TabHandle, StoredTab> = true;
void tabShapesAgree;
