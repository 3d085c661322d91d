import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { checkSandbox, sandboxSetup } from '../../src/supervisor/sandbox-choice.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-sandbox-choice-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const config = { ...defaultConfig(), stateDir: join(base, 'state'), logDir: join(base, 'logs'), runtimeDir: join(base, 'runtime'), sandbox: 'off' as const };

describe('sandbox_extra_paths', () => {
  it('accepts an existing absolute path, read-only or :rw', () => {
    expect(() => checkSandbox(config, {}, [base, `${base}:rw`])).not.toThrow();
  });

  it("refuses a relative path, a missing one, /, and any inside tabcrew's own folders, saying nothing was created", () => {
    expect(() => checkSandbox(config, {}, ['cache'])).toThrow(/not an absolute path.*Nothing was created/);
    expect(() => checkSandbox(config, {}, [join(base, 'missing')])).toThrow(/does not exist; nothing was created/);
    expect(() => checkSandbox(config, {}, ['/'])).toThrow(/whole file system/);
    expect(() => checkSandbox(config, {}, [join(base, 'state', 'x')])).toThrow(/tabcrew's state dir/);
    expect(() => checkSandbox(config, {}, [`${join(base, 'runtime')}:rw`])).toThrow(/runtime dir/);
  });
});

describe('the sandbox a launch gets', () => {
  it('none with --sandbox off; a refusal naming the fix with --sandbox on and no program', () => {
    expect(sandboxSetup(config, {})).toBeUndefined();
    expect(() => sandboxSetup({ ...config, sandbox: 'on', sandboxProgram: join(base, 'no-bwrap') }, {})).toThrow(
      process.platform === 'linux' ? /apt-get install bubblewrap/ : /sandbox/,
    );
  });
});
