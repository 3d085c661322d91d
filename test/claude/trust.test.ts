import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTrusted } from '../../src/claude/trust.js';

describe('folder trust', () => {
  it("is read from Claude Code's config, for the root or a parent, and unknown means untrusted", async () => {
    const home = mkdtempSync(join(tmpdir(), 'tabcrew-trust-'));
    expect(await isTrusted('/w/app', { HOME: home })).toBe(false);
    writeFileSync(join(home, '.claude.json'), JSON.stringify({ projects: { '/w': { hasTrustDialogAccepted: true }, '/x': {} } }));
    expect(await isTrusted('/w/app/sub', { HOME: home })).toBe(true);
    expect(await isTrusted('/x/app', { HOME: home })).toBe(false);
    writeFileSync(join(home, '.claude.json'), '{"projects": {');
    expect(await isTrusted('/w/app', { HOME: home })).toBe(false);
  });
});
