import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TranscriptReader } from '../../src/claude/transcript.js';

const dir = mkdtempSync(join(tmpdir(), 'tabcrew-transcript-models-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const line = (id: string, model: string, input: number, output: number) =>
  JSON.stringify({
    type: 'assistant',
    requestId: `req_${id}`,
    message: {
      id,
      model,
      role: 'assistant',
      content: [],
      usage: { input_tokens: input, output_tokens: output, cache_read_input_tokens: 1, cache_creation_input_tokens: 2 },
    },
  });

describe('tokens per model', () => {
  it('each API call counts once under the model that answered it; synthetic lines are left out', async () => {
    const path = join(dir, 't.jsonl');
    writeFileSync(
      path,
      [
        line('m1', 'claude-a', 10, 1),
        line('m1', 'claude-a', 10, 5),
        line('m2', 'claude-b', 100, 10),
        line('m3', '<synthetic>', 0, 0),
        line('m4', 'claude-a', 1, 1),
      ].join('\n') + '\n',
    );
    const r = new TranscriptReader(path);
    await r.refresh();
    expect(Object.fromEntries(r.usageByModel)).toEqual({
      'claude-a': { input: 11, output: 6, cache_read: 2, cache_creation: 4 },
      'claude-b': { input: 100, output: 10, cache_read: 1, cache_creation: 2 },
    });
  });
});
