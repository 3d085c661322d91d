import type { TabInfo, TerminalBackend } from '../../src/terminals/backend.js';

/** A terminal that lists `tabs`, shows blank screens, takes any typing and opens no tab: for tests of the supervisor's own work. */
export function quietTerminal(tabs: TabInfo[] = []): TerminalBackend {
  return {
    name: 'tmux',
    calls: 0,
    createTab: () => Promise.reject(new Error('not used')),
    paste: async () => undefined,
    sendKeys: async () => undefined,
    readScreen: async () => '',
    readScreens: async () => new Map(),
    listTabs: async () => tabs,
    closeTab: async () => undefined,
    dispose: async () => undefined,
  };
}
