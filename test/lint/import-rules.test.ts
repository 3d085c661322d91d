import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/*
 * `npm run lint` keeps the layers of docs/architecture.md: no import circle, nothing importing
 * a layer above its own. These cases feed the linter a real source file with one import added
 * (the file on disk is untouched) and expect the rule to refuse it.
 */

const eslint = new ESLint();

async function ruleIdsFor(path: string, extraImport: string): Promise<string[]> {
  const text = `${extraImport}\n${readFileSync(path, 'utf8')}`;
  const [result] = await eslint.lintText(text, { filePath: path });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

describe('the import rules of npm run lint', () => {
  it('fail on an import circle: roster.ts importing agents.ts, which imports roster.ts', async () => {
    const ids = await ruleIdsFor('src/supervisor/roster.ts', "import { AgentLifecycle } from './agents.js';\nvoid AgentLifecycle;");
    expect(ids).toContain('import-x/no-cycle');
  }, 120_000);

  it('fail on an upward import: the store importing the supervisor', async () => {
    const ids = await ruleIdsFor('src/store/types.ts', "import { Supervisor } from '../supervisor/supervisor.js';\nvoid Supervisor;");
    expect(ids).toContain('import-x/no-restricted-paths');
  }, 120_000);

  it('fail on an upward type import too: the terminals importing a supervisor type', async () => {
    const ids = await ruleIdsFor('src/terminals/backend.ts', "import type { LiveStatus } from '../supervisor/observer.js';\nexport type X = LiveStatus;");
    expect(ids).toContain('import-x/no-restricted-paths');
  }, 120_000);

  it('pass the files as they are', async () => {
    for (const path of ['src/supervisor/roster.ts', 'src/store/types.ts', 'src/terminals/backend.ts']) {
      expect(await ruleIdsFor(path, '')).toEqual([]);
    }
  }, 120_000);
});
