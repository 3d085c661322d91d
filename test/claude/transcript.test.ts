import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TranscriptReader, encodeProjectDir, isUserPrompt, lastReply, transcriptPath, usageTotals } from '../../src/claude/transcript.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'transcripts');
const read = (name: string) => readFileSync(join(fixtures, name), 'utf8');

// Real transcripts written by Claude Code 2.1.197 against test/support/mock-anthropic.ts.
describe('usageTotals', () => {
  it('counts each API call once (text + tool_use lines share message.id)', () => {
    // usage-session: 3 API calls; the second wrote two lines (text, tool_use).
    expect(usageTotals(read('usage-session.jsonl'))).toEqual({
      input: 1000 + 1100 + 1300,
      output: 50 + 60 + 70,
      cache_read: 300 + 1200 + 1250,
      cache_creation: 200 + 0 + 10,
    });
  });

  it('sums a long session with tool calls, interrupts and slash commands', () => {
    // 29 API calls at the mock's default usage (100 / 20 / 5 / 10).
    expect(usageTotals(read('rich-session.jsonl'))).toEqual({
      input: 2900,
      output: 580,
      cache_read: 145,
      cache_creation: 290,
    });
  });

  it('uses the last line of a call, tolerates junk and a partial last line', () => {
    const mk = (id: string, out: number) =>
      JSON.stringify({ type: 'assistant', requestId: `r-${id}`, message: { id, content: [], usage: { input_tokens: 10, output_tokens: out } } });
    const text = [mk('a', 1), 'not json', '', mk('a', 7), mk('b', 3), '{"type":"assistant","message":{"id":"c","usa'].join('\n');
    expect(usageTotals(text)).toEqual({ input: 20, output: 10, cache_read: 0, cache_creation: 0 });
  });

  it('accepts an array of lines or parsed objects', () => {
    const lines = read('usage-session.jsonl').split('\n');
    expect(usageTotals(lines)).toEqual(usageTotals(lines.filter(Boolean).map((l) => JSON.parse(l))));
  });
});

describe('lastReply', () => {
  it('returns the final text after a tool call', () => {
    expect(lastReply(read('usage-session.jsonl'))).toBe('The tool printed tool-ran.');
  });

  it('ignores /exit echo lines after the last turn', () => {
    // The session ends with " /exit please" (a prompt: leading space) then a real /exit.
    expect(lastReply(read('rich-session.jsonl'))).toBe('Hello from the mock.');
  });

  it('after resume, answers for the latest prompt, not the synthetic line', () => {
    expect(lastReply(read('resumed-session.jsonl'))).toBe('Hello from the mock.');
  });

  it('is undefined while the latest prompt has no answer yet', () => {
    const lines = read('usage-session.jsonl').split('\n').filter(Boolean);
    let lastPrompt = -1;
    lines.forEach((l, i) => {
      if (isUserPrompt(JSON.parse(l))) lastPrompt = i;
    });
    expect(lastReply(lines.slice(0, lastPrompt + 1))).toBeUndefined();
    // Mid-turn: the tool call was made, the final text is not there yet.
    const midTurn = lines.filter((l) => !l.includes('The tool printed tool-ran.'));
    expect(lastReply(midTurn)).toBe('Let me check.');
  });

  it('tells prompts from tool results, interrupt markers and command echoes', () => {
    const objs = read('rich-session.jsonl')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const prompts = objs.filter(isUserPrompt).map((l) => l.message.content as string);
    expect(prompts[0]).toBe('Say hello please');
    expect(prompts).toContain('Message B typed while busy'); // queued while busy
    expect(prompts).toContain(' /exit please');
    expect(prompts.some((p) => p.startsWith('<bash-input>'))).toBe(true); // `!` shell mode starts a turn
    expect(prompts.some((p) => typeof p !== 'string')).toBe(false);
    expect(prompts.some((p) => p.includes('<command-name>') || p.includes('<local-command'))).toBe(false);
    expect(prompts).toHaveLength(28);
  });
});

describe('transcriptPath', () => {
  it('encodes the cwd like Claude Code', () => {
    expect(transcriptPath('/h/.claude', '/tmp/ccr/trusted', 'abc')).toBe('/h/.claude/projects/-tmp-ccr-trusted/abc.jsonl');
    expect(encodeProjectDir('/a/b_c.d/é x')).toBe('-a-b-c-d---x');
  });

  it('cuts long paths at 200 chars and appends the base-36 Java hashCode (seen on 2.1.197)', () => {
    const cwd = '/tmp/ccr/' + 'a_very.long-directory-name'.repeat(9) + '/sub_dir.x/ünï';
    const enc = encodeProjectDir(cwd);
    expect(enc).toHaveLength(207);
    expect(enc.endsWith('-oqkv5f')).toBe(true);
    expect(enc.startsWith('-tmp-ccr-a-very-long-directory-namea-very')).toBe(true);
  });
});

describe('TranscriptReader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tabcrew-transcript-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refreshes asked at once read each line once, and know when the file was last written', async () => {
    const file = join(dir, 's.jsonl');
    const data = read('usage-session.jsonl');
    writeFileSync(file, data);
    const r = new TranscriptReader(file);
    const lines = await Promise.all([r.refresh(), r.refresh(), r.refresh()]);
    expect(lines.reduce((a, b) => a + b, 0)).toBe(data.trimEnd().split('\n').length);
    expect(r.usage).toEqual(usageTotals(data));
    expect(r.bytesRead).toBe(Buffer.byteLength(data));
    expect(r.modifiedAt).toBe(statSync(file).mtimeMs);
    rmSync(file);
    await r.refresh();
    expect(r.modifiedAt).toBeUndefined();
  });

  it('reads appended bytes only, across partial lines', async () => {
    const file = join(dir, 'projects', 'x', 's.jsonl');
    const r = new TranscriptReader(file);
    expect(await r.refresh()).toBe(0); // missing file is fine
    expect(r.lastReply).toBeUndefined();
    mkdirSync(dirname(file), { recursive: true });
    const data = read('usage-session.jsonl');
    writeFileSync(file, '');
    // Feed the real transcript in uneven chunks, splitting lines (and UTF-8) anywhere.
    const bytes = Buffer.from(data, 'utf8');
    let pos = 0;
    let step = 1;
    while (pos < bytes.length) {
      const n = Math.min(bytes.length - pos, step * 97);
      appendFileSync(file, bytes.subarray(pos, pos + n));
      pos += n;
      step = (step % 7) + 1;
      await r.refresh();
    }
    expect(r.usage).toEqual(usageTotals(data));
    expect(r.lastReply).toBe('The tool printed tool-ran.');
    expect(r.bytesRead).toBe(bytes.length);
  });

  it('keeps a partial trailing line until its newline arrives', async () => {
    const file = join(dir, 't.jsonl');
    const line = JSON.stringify({
      type: 'assistant',
      message: { id: 'm1', content: [{ type: 'text', text: 'héllo' }], usage: { input_tokens: 5, output_tokens: 2 } },
    });
    writeFileSync(file, JSON.stringify({ type: 'user', message: { role: 'user', content: 'hi' } }) + '\n' + line.slice(0, 20));
    const r = new TranscriptReader(file);
    await r.refresh();
    expect(r.usage.input).toBe(0);
    expect(r.lastReply).toBeUndefined();
    appendFileSync(file, line.slice(20) + '\n');
    await r.refresh();
    expect(r.usage).toEqual({ input: 5, output: 2, cache_read: 0, cache_creation: 0 });
    expect(r.lastReply).toBe('héllo');
    // A new prompt starts a new turn: no reply for it yet.
    appendFileSync(file, JSON.stringify({ type: 'user', message: { role: 'user', content: 'next' } }) + '\n');
    await r.refresh();
    expect(r.lastReply).toBeUndefined();
  });

  it('starts over when the file shrinks', async () => {
    const file = join(dir, 't.jsonl');
    writeFileSync(file, read('usage-session.jsonl'));
    const r = new TranscriptReader(file);
    await r.refresh();
    writeFileSync(file, read('usage-session.jsonl').split('\n').slice(0, 3).join('\n') + '\n');
    await r.refresh();
    expect(r.usage).toEqual({ input: 0, output: 0, cache_read: 0, cache_creation: 0 });
  });
});

describe('recent turns', () => {
  it('pair each typed prompt with the reply that answered it', async () => {
    const { recentTurns } = await import('../../src/claude/transcript.js');
    const lines = [
      { type: 'user', message: { role: 'user', content: 'first?' } },
      { type: 'assistant', requestId: 'r1', message: { id: 'm1', content: [{ type: 'text', text: 'one' }] } },
      { type: 'user', message: { role: 'user', content: [{ type: 'tool_result', content: 'x' }] } },
      { type: 'assistant', requestId: 'r2', message: { id: 'm2', content: [{ type: 'text', text: 'one, finally' }] } },
      { type: 'user', message: { role: 'user', content: [{ type: 'text', text: 'second?' }] } },
    ];
    expect(recentTurns(lines, 10)).toEqual([{ prompt: 'first?', reply: 'one, finally' }, { prompt: 'second?' }]);
    expect(recentTurns(lines, 1)).toEqual([{ prompt: 'second?' }]);
  });
});
