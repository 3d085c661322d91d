/**
 * How the dashboard bench and the dashboard e2e test open Debian's chromium: headless, no
 * sandbox (root in CI), and nothing that reaches past loopback (no sync, updates or QUIC).
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * A fresh browser profile under `dir`; the caller closes the context. playwright-core is
 * loaded here, on first use, so that a bench without it can still say why it skipped.
 */
export async function launchChromium(dir) {
  const { chromium } = await import('playwright-core');
  return chromium.launchPersistentContext(mkdtempSync(join(dir, 'chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 1000 },
  });
}
