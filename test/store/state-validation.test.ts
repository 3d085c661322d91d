import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonCodec, type StateCodec } from '../../src/store/codec.js';
import { openStateStore, StateStore, StateUnreadableError } from '../../src/store/state-store.js';
import { STATE_VERSION, type AgentRecord, type State } from '../../src/store/types.js';

const base = mkdtempSync(join(tmpdir(), 'tabcrew-valid-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const place = () => {
  const root = join(base, `case-${++n}`);
  return { dir: join(root, 'state'), keyFile: join(root, 'config', 'state.key') };
};
const openEncrypted = (p: { dir: string; keyFile: string }, extra: { readOnOpen?: boolean } = {}) =>
  openStateStore({ ...p, keySource: 'file', env: {}, platform: 'linux', ...extra });

function agent(name: string): AgentRecord {
  const t = new Date(0).toISOString();
  return {
    name,
    sessionId: 's-1',
    launch: {},
    claudeSessionId: null,
    pastClaudeSessionIds: [],
    status: 'idle',
    statusSource: 'hook',
    since: t,
    tab: null,
    createdAt: t,
  };
}
function addAgent(s: State): string {
  const name = `Agent_${s.nextAgentNumber++}`;
  s.agents.push(agent(name));
  return name;
}
const v1State = () => ({
  version: 1,
  nextAgentNumber: 2,
  sessions: [{ id: 's-1', name: 'one', root: '/tmp/one', createdAt: 'x' }],
  agents: [agent('Agent_1')],
});

async function refusal(p: Promise<unknown>): Promise<StateUnreadableError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StateUnreadableError);
  return e as StateUnreadableError;
}

/** A plaintext store in a fresh dir holding `value` as its state.json. */
function plainStore(value: unknown, codec: StateCodec = jsonCodec): { store: StateStore; file: string } {
  const dir = place().dir;
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'state.json');
  writeFileSync(file, JSON.stringify(value));
  return { store: new StateStore(dir, codec), file };
}

describe('the state schema', () => {
  it('a state with a wrong field type is refused naming the field, and the file is never overwritten', async () => {
    const bad = v1State() as { agents: Array<Record<string, unknown>> };
    bad.agents[0]!.status = 'sleeping';
    const { store, file } = plainStore(bad);
    const before = readFileSync(file);
    const e = await refusal(store.update(() => undefined));
    expect(e.reason).toBe('invalid');
    expect(e.message).toContain(`${file} holds a version 1 state that fails validation: agents[0].status: Invalid enum value`);
    expect(e.message).toContain('left the file untouched');
    await refusal(store.read());
    expect(readFileSync(file)).toEqual(before);
  });

  it('a state missing a field is refused naming the field', async () => {
    const bad = { ...v1State(), version: 2, generation: 3 } as Record<string, unknown>;
    delete bad.nextAgentNumber;
    const e = await refusal(plainStore(bad).store.read());
    expect(e.message).toMatch(/fails validation: nextAgentNumber: Required/);
  });

  it('a v1 state is read and saved as v2', async () => {
    const { store, file } = plainStore(v1State());
    const read = await store.read();
    expect(read).toMatchObject({ version: 2, generation: 0, nextAgentNumber: 2 });
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(1); // reading changes nothing on disk
    await store.update(addAgent);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as State;
    expect(saved).toMatchObject({ version: STATE_VERSION, generation: 1, nextAgentNumber: 3 });
    expect(saved.agents.map((a) => a.name)).toEqual(['Agent_1', 'Agent_2']);
    expect(saved.auditKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('a state of a newer version is refused and says to upgrade tabcrew', async () => {
    const { store, file } = plainStore({ ...v1State(), version: STATE_VERSION + 1, generation: 1 });
    const e = await refusal(store.update(() => undefined));
    expect(e.reason).toBe('newer-format');
    expect(e.message).toContain(`holds a state of version ${STATE_VERSION + 1}, written by a newer tabcrew`);
    expect(e.message).toMatch(/Upgrade tabcrew/);
    expect(JSON.parse(readFileSync(file, 'utf8')).version).toBe(STATE_VERSION + 1);
  });

  it('keeps a field this tabcrew does not know through its save', async () => {
    const newer = { ...v1State(), version: 2, generation: 0, futureField: { keep: true } } as Record<string, unknown>;
    (newer.agents as Array<Record<string, unknown>>)[0]!.futureAgentField = 7;
    const { store, file } = plainStore(newer);
    await store.update(addAgent);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & { agents: Array<Record<string, unknown>> };
    expect(saved.futureField).toEqual({ keep: true });
    expect(saved.agents[0]!.futureAgentField).toBe(7);
  });

  it('accepts an owner on an agent record', async () => {
    const s = { ...v1State(), version: 2, generation: 0 };
    (s.agents[0] as AgentRecord).owner = {
      pid: 1234,
      pidStart: 'Tue Dec  1 22:00:00 2026',
      heartbeat: new Date().toISOString(),
      host: 'box',
      instance: 'a1b2c3',
    };
    expect((await plainStore(s).store.read()).agents[0]!.owner?.pid).toBe(1234);
  });
});

describe('saving', () => {
  it('every save raises the generation and hands beforeSave the state about to be written', async () => {
    const dir = place().dir;
    const seen: number[] = [];
    const store = new StateStore(dir, jsonCodec, {
      beforeSave: (s) => {
        seen.push(s.generation);
        s.audit = { seq: s.generation * 10, hash: `h${s.generation}` };
      },
    });
    await store.update(addAgent);
    await store.update(addAgent);
    store.setBeforeSave(undefined);
    await store.update(addAgent);
    expect(seen).toEqual([1, 2]);
    const fresh = await new StateStore(dir).read();
    expect(fresh.generation).toBe(3);
    expect(fresh.audit).toEqual({ seq: 20, hash: 'h2' });
  });

  it('a beforeSave that throws saves nothing and rejects the update', async () => {
    const store = new StateStore(place().dir, jsonCodec);
    await store.update(addAgent);
    store.setBeforeSave(() => {
      throw new Error('no audit head');
    });
    await expect(store.update(addAgent)).rejects.toThrow('no audit head');
    store.setBeforeSave(undefined);
    expect((await store.read()).agents).toHaveLength(1);
    expect(await store.update(addAgent)).toBe('Agent_2');
  });

  it('makes the audit key once and keeps it through every later save and process', async () => {
    const dir = place().dir;
    const one = new StateStore(dir);
    const key = await one.auditKey();
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    await one.update(addAgent);
    const two = new StateStore(dir);
    await two.update(addAgent);
    expect(await two.auditKey()).toBe(key);
    expect((await one.read()).auditKey).toBe(key);
  });

  it('does not decode again the file this process last wrote', async () => {
    let decodes = 0;
    const counting: StateCodec = { ...jsonCodec, decode: (b, f) => (decodes++, jsonCodec.decode(b, f)) };
    const store = new StateStore(place().dir, counting);
    await store.update(addAgent);
    const after = decodes;
    for (let i = 0; i < 5; i++) await store.update(addAgent);
    expect(decodes).toBe(after);
  });

  it('peek shows the newest state without copying it, where read gives a copy of its own', async () => {
    let decodes = 0;
    const counting: StateCodec = { ...jsonCodec, decode: (b, f) => (decodes++, jsonCodec.decode(b, f)) };
    const store = new StateStore(place().dir, counting);
    await store.update(addAgent);
    const seen = await store.peek((s) => s);
    expect(await store.peek((s) => s)).toBe(seen);
    expect(await store.read()).not.toBe(seen);
    expect(await store.read()).toEqual(seen);
    const added = await store.update(addAgent);
    expect(await store.peek((s) => s.agents.map((a) => a.name))).toContain(added);
    // Another process's save: decoded once, then shown as it is.
    const other = new StateStore(store.dir, counting);
    const theirs = await other.update(addAgent);
    const before = decodes;
    expect(await store.peek((s) => s.agents.at(-1)?.name)).toBe(theirs);
    expect(await store.peek((s) => s.agents.length)).toBe(3);
    expect(decodes).toBe(before + 1);
  });

  it('a read while this process saves waits for that save, and does not decode the file again', async () => {
    let decodes = 0;
    const reads: Promise<State>[] = [];
    // Reads made in the middle of the save (as the store's own watchers fire on it).
    const counting: StateCodec = {
      ...jsonCodec,
      decode: (b, f) => (decodes++, jsonCodec.decode(b, f)),
      encode: (state) => (reads.push(store.read()), jsonCodec.encode(state)),
    };
    const store = new StateStore(place().dir, counting);
    await store.update(addAgent);
    await Promise.all(reads.splice(0));
    const after = decodes;
    const added = await store.update(addAgent);
    const seen = await Promise.all(reads);
    expect(decodes).toBe(after);
    for (const s of seen) expect(s.agents.map((a) => a.name)).toContain(added);
  });
});

describe('rollback detection', () => {
  it('a state copied back from an older generation is refused and says how to accept it', async () => {
    const p = place();
    const store = await openEncrypted(p);
    for (let i = 0; i < 3; i++) await store.update(addAgent);
    const file = join(p.dir, 'state.enc');
    copyFileSync(`${file}.1`, file);
    const copied = readFileSync(file);

    const e = await refusal(openEncrypted(p));
    expect(e.reason).toBe('rollback');
    expect(e.message).toContain(`${file} holds generation 2 of the state, but tabcrew has written generation 3 (${file}.mark says so)`);
    expect(e.message).toContain(`tabcrew state accept-rollback --state-dir ${p.dir}`);
    // The running store sees the foreign file too, and writes nothing.
    await refusal(store.update(addAgent));
    expect(readFileSync(file)).toEqual(copied);

    const accepting = await openEncrypted(p, { readOnOpen: false });
    expect(await accepting.acceptRollback()).toMatchObject({ file, acceptedGeneration: 2, markGeneration: 3, changed: true, generation: 4 });
    const after = await openEncrypted(p);
    expect((await after.read()).agents).toHaveLength(2);
    expect(await after.update(addAgent)).toBe('Agent_3');
    expect((await accepting.acceptRollback()).changed).toBe(false);
  });

  it('a state copied back with the mark deleted too is refused', async () => {
    const p = place();
    const store = await openEncrypted(p);
    for (let i = 0; i < 3; i++) await store.update(addAgent);
    const file = join(p.dir, 'state.enc');
    copyFileSync(`${file}.1`, file);
    unlinkSync(`${file}.mark`);
    const e = await refusal(openEncrypted(p));
    expect(e.message).toContain('the high-water mark');
    expect(e.message).toContain('is missing');
  });

  it('a mark edited to a lower generation fails authentication', async () => {
    const p = place();
    const store = await openEncrypted(p);
    for (let i = 0; i < 3; i++) await store.update(addAgent);
    const mark = join(p.dir, 'state.enc.mark');
    const forged = JSON.parse(readFileSync(mark, 'utf8')) as { generation: number; mac: string };
    writeFileSync(mark, JSON.stringify({ ...forged, generation: 1 }));
    const e = await refusal(openEncrypted(p));
    expect(e.reason).toBe('tampered');
    expect(e.message).toContain(`${mark} fails authentication (it says generation 1)`);
  });

  it('deleting every state file while the mark remains is refused, not taken as a fresh start', async () => {
    const p = place();
    const store = await openEncrypted(p);
    for (let i = 0; i < 2; i++) await store.update(addAgent);
    for (const f of ['state.enc', 'state.enc.1', 'state.enc.2']) rmSync(join(p.dir, f), { force: true });
    const e = await refusal(openEncrypted(p));
    expect(e.message).toContain('and its earlier generations are missing, but tabcrew has written generation 2');
  });

  it('a crash between a save and its mark (the mark one generation low) is not taken for a rollback', async () => {
    const p = place();
    const store = await openEncrypted(p);
    await store.update(addAgent);
    const mark = join(p.dir, 'state.enc.mark');
    const older = readFileSync(mark);
    await store.update(addAgent);
    writeFileSync(mark, older);
    expect((await (await openEncrypted(p)).read()).agents).toHaveLength(2);
    await store.update(addAgent);
    expect(JSON.parse(readFileSync(mark, 'utf8')).generation).toBe(3);
  });

  it('two servers saving alternately never trip rollback detection', async () => {
    const p = place();
    const one = await openEncrypted(p);
    const two = await openEncrypted(p);
    for (let i = 0; i < 20; i++) {
      await (i % 2 ? one : two).update(addAgent);
      await (i % 2 ? two : one).read();
    }
    await Promise.all(Array.from({ length: 20 }, (_, i) => ((i % 2 ? one : two).update(addAgent), (i % 3 ? one : two).read())));
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).update(addAgent)));
    const state = await (await openEncrypted(p)).read();
    expect(state.agents).toHaveLength(60);
    expect(state.generation).toBe(60); // one generation per save, whichever process made it
  });
});
