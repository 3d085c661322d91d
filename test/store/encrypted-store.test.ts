import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyIdOf } from '../../src/store/crypto-codec.js';
import { openKeys, type SecurityRunner } from '../../src/store/keys.js';
import { rotateKey, type RotateStep } from '../../src/store/rotate.js';
import { openStateStore, StateUnreadableError, type OpenStateStoreOptions } from '../../src/store/state-store.js';
import type { AgentRecord, State } from '../../src/store/types.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-enc-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
/** A state dir and, in a separate dir, its key file: never the real ~/.config or keychain. */
function place(): { dir: string; keyFile: string } {
  const root = join(base, `case-${++n}`);
  return { dir: join(root, 'state'), keyFile: join(root, 'config', 'state.key') };
}
const open = (p: { dir: string; keyFile: string }, extra: Partial<OpenStateStoreOptions> = {}) =>
  openStateStore({ keySource: 'file', env: {}, platform: 'linux', ...p, ...extra });

const ROOT = '/home/alice/clients/acme-payroll';
const SESSION = 'payroll-migration';
const MESSAGE = 'please rotate the production database password';

function addAgent(state: State): string {
  const name = `Agent_${state.nextAgentNumber++}`;
  if (!state.sessions.length) state.sessions.push({ id: 'sess-1', name: SESSION, root: ROOT, createdAt: new Date(0).toISOString() });
  const agent: AgentRecord = {
    name,
    sessionId: 'sess-1',
    launch: { role: MESSAGE },
    claudeSessionId: null,
    pastClaudeSessionIds: [],
    status: 'idle',
    statusSource: 'hook',
    since: new Date(0).toISOString(),
    tab: null,
    createdAt: new Date(0).toISOString(),
    transcriptPath: `${ROOT}/transcript.jsonl`,
  };
  state.agents.push(agent);
  return name;
}

/** Every file under `dir`, recursively, with its bytes. */
function allFiles(dir: string): Array<[string, Buffer]> {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .map((f) => [f, readFileSync(f)]);
}

/** The generation files (the mark is JSON, with no key id). */
const stateFiles = (dir: string) => allFiles(dir).filter(([f]) => !f.endsWith('.mark'));

function expectNothingReadable(dir: string): void {
  const files = allFiles(dir);
  expect(files.length).toBeGreaterThan(0);
  for (const [file, bytes] of files) {
    for (const secret of [ROOT, 'acme-payroll', SESSION, 'Agent_', MESSAGE, 'production database', '"agents"']) {
      for (const encoding of ['utf8', 'utf16le'] as const) {
        expect(bytes.includes(Buffer.from(secret, encoding)), `${secret} in ${file}`).toBe(false);
      }
    }
  }
}

async function rejection(p: Promise<unknown>): Promise<StateUnreadableError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(StateUnreadableError);
    return e as StateUnreadableError;
  }
  throw new Error('it did not fail');
}

describe('the encrypted state store', () => {
  it('keeps its state in a private dir, in private files, with the key elsewhere', async () => {
    const p = place();
    const store = await open(p);
    await store.update(addAgent);
    expect(statSync(p.dir).mode & 0o777).toBe(0o700);
    for (const [file] of allFiles(p.dir)) expect(statSync(file).mode & 0o777, file).toBe(0o600);
    expect(existsSync(p.keyFile)).toBe(true);
    expect(store.notices.join()).toMatch(/Created a new state key in the key file .* keep a copy/);
    expect((await (await open(p)).read()).agents.map((a) => a.name)).toEqual(['Agent_1']);
  });

  it('leaves no root path, session name, agent name or message readable in any file of the state dir', async () => {
    const p = place();
    const legacy = { version: 1, nextAgentNumber: 1, sessions: [], agents: [] } as State;
    addAgent(legacy);
    mkdirSync(p.dir, { recursive: true });
    writeFileSync(join(p.dir, 'state.json'), JSON.stringify(legacy));
    writeFileSync(join(p.dir, 'state.json.3735928559'), JSON.stringify(legacy)); // the old version's crashed temp file
    const store = await open(p);
    for (let i = 0; i < 4; i++) await store.update(addAgent);
    // Mid-update the lock is held: whatever it leaves on disk must reveal nothing either.
    await store.update((s) => {
      addAgent(s);
      expectNothingReadable(p.dir);
    });
    await rotateKey({ dir: p.dir, keySource: 'file', keyFile: p.keyFile, env: {}, platform: 'linux' });
    expectNothingReadable(p.dir);
    expect((await (await open(p)).read()).agents).toHaveLength(6);
  });

  it('keeps the two previous good states as state.enc.1 and state.enc.2', async () => {
    const p = place();
    const store = await open(p);
    for (let i = 0; i < 4; i++) await store.update(addAgent);
    const names = readdirSync(p.dir)
      .filter((f) => f.startsWith('state.enc'))
      .sort();
    expect(names).toEqual(['state.enc', 'state.enc.1', 'state.enc.2', 'state.enc.mark']);
    expect((await store.readGeneration(join(p.dir, 'state.enc')))!.agents).toHaveLength(4);
    expect((await store.readGeneration(join(p.dir, 'state.enc.1')))!.agents).toHaveLength(3);
    expect((await store.readGeneration(join(p.dir, 'state.enc.2')))!.agents).toHaveLength(2);
  });

  it('stops at a flipped byte, naming the file and the damaged bytes, offering the intact generation, and never rewrites it', async () => {
    const p = place();
    const store = await open(p);
    for (let i = 0; i < 3; i++) await store.update(addAgent);
    const file = join(p.dir, 'state.enc');
    const bytes = readFileSync(file);
    bytes[100]! ^= 0x20;
    writeFileSync(file, bytes);
    const before = allFiles(p.dir);

    const e = await rejection(store.update(addAgent));
    expect(e.reason).toBe('damaged');
    expect(e.message).toContain(`${file} is damaged within bytes 0–1023`);
    expect(e.message).toContain('left the file untouched');
    expect(e.message).toMatch(
      /earlier generation .*state\.enc\.1 \(saved .*, generation 2, 2 agents\) is intact: to use it, move the unreadable file aside \(mv .*state\.enc .*state\.enc\.damaged\), accept the older state \(tabcrew state accept-rollback --state-dir .*\)/,
    );
    await rejection(store.read());
    await rejection(open(p));
    expect(allFiles(p.dir)).toEqual(before);

    // Following the advice works: the previous generation is accepted, read and written forward.
    renameSync(file, `${file}.damaged`);
    expect((await rejection(open(p))).reason).toBe('rollback');
    expect((await (await open(p, { readOnOpen: false })).acceptRollback()).changed).toBe(true);
    const recovered = await open(p);
    expect((await recovered.read()).agents).toHaveLength(2);
    expect(await recovered.update(addAgent)).toBe('Agent_3');
  });

  it('stops at a state written with another key, naming both key ids, and never rewrites it', async () => {
    const p = place();
    await (await open(p)).update(addAgent);
    const before = allFiles(p.dir);
    const other = { dir: p.dir, keyFile: join(base, `other-${n}.key`) };
    writeFileSync(other.keyFile, `${Buffer.alloc(32, 9).toString('base64')}\n`, { mode: 0o600 });
    const realId = keyIdOf((await openKeys({ keySource: 'file', env: {}, keyFile: p.keyFile, mayCreate: false })).current);

    const e = await rejection(open(other));
    expect(e.reason).toBe('wrong-key');
    expect(e.message).toContain(`${join(p.dir, 'state.enc')} was written with a different key (key id ${realId})`);
    expect(e.message).toContain(`the key file ${other.keyFile} (key id ${keyIdOf(new Uint8Array(Buffer.alloc(32, 9)))}`);
    expect(e.message).toContain(`tabcrew looked (--key-source file) in: the key file ${other.keyFile} (--key-file).`);
    expect(e.message).toMatch(/Fix: give the key this state was written with — --key-file .*, or TABCREW_STATE_KEY=.* --state-dir <dir>/);
    expect(allFiles(p.dir)).toEqual(before);
  });

  it('asks for the key instead of making a new one when the key is missing but the state is encrypted', async () => {
    const p = place();
    await (await open(p)).update(addAgent);
    rmSync(p.keyFile);
    await expect(open(p)).rejects.toThrow(/is encrypted, but the key file .* holds no key/);
    expect(existsSync(p.keyFile)).toBe(false);
  });

  it('reads the previous generation once accepted when the newest was moved aside', async () => {
    const p = place();
    const store = await open(p);
    for (let i = 0; i < 2; i++) await store.update(addAgent);
    renameSync(join(p.dir, 'state.enc'), join(p.dir, 'elsewhere'));
    expect((await rejection(open(p))).message).toMatch(/state\.enc\.1 holds generation 1 of the state, but tabcrew has written generation 2/);
    const accepting = await open(p, { readOnOpen: false });
    expect(await accepting.acceptRollback()).toMatchObject({ file: join(p.dir, 'state.enc.1'), acceptedGeneration: 1, markGeneration: 2, generation: 3 });
    expect(accepting.notices.join()).toContain('reading the earlier generation');
    const again = await open(p);
    expect((await again.read()).agents).toHaveLength(1);
  });

  it('encrypts a plaintext state.json of the previous version once and erases the plaintext', async () => {
    const p = place();
    const legacy = { version: 1, nextAgentNumber: 1, sessions: [], agents: [] } as State;
    addAgent(legacy);
    addAgent(legacy);
    mkdirSync(p.dir, { recursive: true });
    writeFileSync(join(p.dir, 'state.json'), JSON.stringify(legacy));
    const store = await open(p);
    expect(await store.read()).toMatchObject({ ...legacy, version: 2, generation: 1 });
    expect(existsSync(join(p.dir, 'state.json'))).toBe(false);
    expect(store.notices.join()).toContain('Moved the plaintext state');
    expect(await store.update(addAgent)).toBe('Agent_3');
  });

  it('leaves an unreadable plaintext state.json untouched and says so', async () => {
    const p = place();
    mkdirSync(p.dir, { recursive: true });
    writeFileSync(join(p.dir, 'state.json'), '{"version":1,');
    await expect(open(p)).rejects.toThrow(/state\.json is not valid JSON .* left untouched/);
    expect(readFileSync(join(p.dir, 'state.json'), 'utf8')).toBe('{"version":1,');
    expect(existsSync(join(p.dir, 'state.enc'))).toBe(false);
  });

  it('erases a plaintext copy an interrupted migration left beside the encrypted state', async () => {
    const p = place();
    const store = await open(p);
    await store.update(addAgent);
    writeFileSync(join(p.dir, 'state.json'), JSON.stringify({ version: 1, nextAgentNumber: 1, sessions: [], agents: [] }));
    const again = await open(p);
    expect((await again.read()).agents).toHaveLength(1);
    expect(existsSync(join(p.dir, 'state.json'))).toBe(false);
  });

  it('removes the temp file of a writer that crashed', async () => {
    const p = place();
    await (await open(p)).update(addAgent);
    writeFileSync(join(p.dir, 'state.enc.tmp-deadbeef0000'), 'half');
    await open(p);
    expect(readdirSync(p.dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('key rotation', () => {
  const rotate = (p: { dir: string; keyFile: string }, afterStep?: (s: RotateStep, f?: string) => void) =>
    rotateKey({ dir: p.dir, keySource: 'file', keyFile: p.keyFile, env: {}, platform: 'linux', afterStep });

  it('re-encrypts every generation under a new key that replaces the old one', async () => {
    const p = place();
    const store = await open(p);
    for (let i = 0; i < 3; i++) await store.update(addAgent);
    const oldKey = readFileSync(p.keyFile, 'utf8');
    const result = await rotate(p);
    expect(result.switched).toBe(true);
    expect(result.reencrypted.map((f) => f.slice(p.dir.length + 1))).toEqual(['state.enc', 'state.enc.1', 'state.enc.2']);
    expect(readFileSync(p.keyFile, 'utf8')).not.toBe(oldKey);
    expect(existsSync(`${p.keyFile}.next`)).toBe(false);
    for (const [, bytes] of stateFiles(p.dir)) expect(bytes.subarray(6, 14).toString('hex')).toBe(result.newKeyId);
    expect((await (await open(p)).read()).agents).toHaveLength(3);

    const withOld = { dir: p.dir, keyFile: join(base, `old-${n}.key`) };
    writeFileSync(withOld.keyFile, oldKey, { mode: 0o600 });
    expect((await rejection(open(withOld))).reason).toBe('wrong-key');
  });

  it('leaves a readable state after a crash at any step, and finishes when run again', async () => {
    const steps: Array<[RotateStep, number]> = [
      ['checked', 1],
      ['next-key-saved', 1],
      ['file-reencrypted', 1],
      ['file-reencrypted', 2],
      ['file-reencrypted', 3],
      ['switched', 1],
    ];
    for (const [crashAt, nth] of steps) {
      const p = place();
      const store = await open(p);
      for (let i = 0; i < 3; i++) await store.update(addAgent);
      let seen = 0;
      const attempt = rotate(p, (s) => {
        if (s === crashAt && ++seen === nth) throw new Error('crash');
      });
      await expect(attempt).rejects.toThrow('crash');

      // Before finishing, a tabcrew starting now reads the state, and one already running keeps working.
      const between = await open(p);
      expect((await between.read()).agents, `${crashAt} #${nth}`).toHaveLength(3);
      expect(await store.update(addAgent)).toBe('Agent_4');

      const done = await rotate(p);
      expect(done.switched).toBe(true);
      expect(existsSync(`${p.keyFile}.next`)).toBe(false);
      for (const [, bytes] of stateFiles(p.dir)) expect(bytes.subarray(6, 14).toString('hex')).toBe(done.newKeyId);
      expect((await (await open(p)).read()).agents.map((a) => a.name)).toEqual(['Agent_1', 'Agent_2', 'Agent_3', 'Agent_4']);
    }
  });

  it('says there is nothing to rotate before the first start', async () => {
    await expect(rotate(place())).rejects.toThrow(/nothing to rotate .* tabcrew makes a key on its first start/);
  });

  it('lets a tabcrew that was running during the rotation carry on with the new key', async () => {
    const p = place();
    const running = await open(p);
    await running.update(addAgent);
    await rotate(p);
    expect(await running.update(addAgent)).toBe('Agent_2');
    expect((await (await open(p)).read()).agents).toHaveLength(2);
  });

  it('rotates a key given in TABCREW_STATE_KEY with the new key from TABCREW_STATE_KEY_NEXT', async () => {
    const p = place();
    const oldKey = Buffer.alloc(32, 1).toString('base64');
    const newKey = Buffer.alloc(32, 2).toString('base64');
    const store = await open(p, { keySource: 'env', env: { TABCREW_STATE_KEY: oldKey } });
    await store.update(addAgent);
    await expect(rotateKey({ dir: p.dir, keySource: 'env', env: { TABCREW_STATE_KEY: oldKey } })).rejects.toThrow(/put the new key in TABCREW_STATE_KEY_NEXT/);
    const result = await rotateKey({ dir: p.dir, keySource: 'env', env: { TABCREW_STATE_KEY: oldKey, TABCREW_STATE_KEY_NEXT: newKey } });
    expect(result.switched).toBe(false);
    expect(result.todo).toMatch(/set TABCREW_STATE_KEY to the value of TABCREW_STATE_KEY_NEXT/);
    // Until the swap, both are set; writes then use the new key, so the swap never strands a file.
    await (await open(p, { keySource: 'env', env: { TABCREW_STATE_KEY: oldKey, TABCREW_STATE_KEY_NEXT: newKey } })).update(addAgent);
    expect((await (await open(p, { keySource: 'env', env: { TABCREW_STATE_KEY: newKey } })).read()).agents).toHaveLength(2);
  });

  it('rotates a Keychain key, keeping the new key as a pending item until every file uses it', async () => {
    const p = place();
    const items = new Map<string, string>();
    const security: SecurityRunner = async (args) => {
      const account = args[args.indexOf('-a') + 1]!;
      if (args[0] === 'find-generic-password') {
        return items.has(account) ? { code: 0, stdout: items.get(account)!, stderr: '' } : { code: 44, stdout: '', stderr: '' };
      }
      if (args[0] === 'add-generic-password') {
        if (items.has(account) && !args.includes('-U')) return { code: 45, stdout: '', stderr: '' };
        items.set(account, args[args.indexOf('-w') + 1]!);
      }
      if (args[0] === 'delete-generic-password') items.delete(account);
      return { code: 0, stdout: '', stderr: '' };
    };
    const mac = { keySource: 'auto' as const, platform: 'darwin' as const, security };
    await (await open(p, mac)).update(addAgent);
    const oldKey = items.get('state-key');
    let pendingDuringRotation: string | undefined;
    await rotateKey({
      dir: p.dir,
      keyFile: p.keyFile,
      env: {},
      ...mac,
      afterStep: (s) => {
        if (s === 'file-reencrypted') pendingDuringRotation = items.get('state-key-next');
      },
    });
    expect(pendingDuringRotation).toBeDefined();
    expect(items.get('state-key')).toBe(pendingDuringRotation);
    expect(items.get('state-key')).not.toBe(oldKey);
    expect(items.has('state-key-next')).toBe(false);
    expect(existsSync(p.keyFile)).toBe(false);
    expect((await (await open(p, mac)).read()).agents).toHaveLength(1);
  });
});
