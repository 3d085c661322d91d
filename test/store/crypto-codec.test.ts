import fc from 'fast-check';
import sodium from 'libsodium-wrappers';
import { beforeAll, describe, expect, it } from 'vitest';
import { StateDecodeError } from '../../src/store/codec.js';
import { keyIdOf, newStateKey, openState, sealState, sodiumReady } from '../../src/store/crypto-codec.js';
import { emptyState, type State } from '../../src/store/types.js';

beforeAll(sodiumReady);

const HEADER = 42;

function sampleState(): State {
  const s = emptyState();
  s.nextAgentNumber = 3;
  s.sessions.push({ id: 's1', name: 'payroll-migration', root: '/home/alice/payroll', createdAt: '2025-01-01T00:00:00Z' });
  for (const name of ['Agent_1', 'Agent_2']) {
    s.agents.push({
      name,
      sessionId: 's1',
      launch: { role: 'reviewer' },
      claudeSessionId: null,
      pastClaudeSessionIds: [],
      status: 'idle',
      statusSource: 'hook',
      since: '2025-01-01T00:00:00Z',
      tab: null,
      createdAt: '2025-01-01T00:00:00Z',
    });
  }
  return s;
}

function decodeError(bytes: Buffer, keys: Uint8Array[]): StateDecodeError {
  try {
    openState(bytes, keys);
  } catch (e) {
    if (e instanceof StateDecodeError) return e;
    throw e;
  }
  throw new Error('the file opened');
}

/** Recomputes the checksum table, as someone rewriting the file deliberately would. */
function resum(bytes: Buffer): Buffer {
  const bodyEnd = HEADER + bytes.readUInt32BE(14);
  const out = Buffer.from(bytes);
  for (let i = 0, at = 0; at < bodyEnd; i++, at += 1024) {
    const sum = sodium.crypto_generichash(16, out.subarray(at, Math.min(at + 1024, bodyEnd)), null).subarray(0, 8);
    Buffer.from(sum).copy(out, bodyEnd + i * 8);
  }
  return out;
}

const stateArb: fc.Arbitrary<State> = fc.record({
  version: fc.constant(1 as const),
  nextAgentNumber: fc.nat(),
  sessions: fc.array(fc.record({ id: fc.uuid(), name: fc.string({ unit: 'binary' }), root: fc.string({ unit: 'binary' }), createdAt: fc.string() }), {
    maxLength: 5,
  }),
  agents: fc.constant([]),
});

describe('the encrypted state format', () => {
  it('gives back exactly the state it sealed', () => {
    const key = newStateKey();
    fc.assert(
      fc.property(stateArb, (state) => {
        expect(openState(sealState(state, key), [key]).state).toEqual(state);
      }),
      { numRuns: 200 },
    );
  });

  it('shows nothing of the state and grows only in 1 KiB steps', () => {
    const key = newStateKey();
    const sealed = sealState(sampleState(), key);
    for (const secret of ['payroll', '/home/alice', 'Agent_', 'reviewer', '"agents"']) {
      expect(sealed.includes(Buffer.from(secret))).toBe(false);
    }
    const longer = sampleState();
    longer.sessions[0]!.root += '/a/bit/longer';
    expect(sealState(longer, key).length).toBe(sealed.length);
  });

  it('reports any flipped byte of header, nonce or ciphertext as damage at the bytes it hit', () => {
    const key = newStateKey();
    const state = sampleState();
    state.sessions.push(...Array.from({ length: 30 }, (_, i) => ({ ...state.sessions[0]!, id: `s${i + 2}` })));
    const sealed = sealState(state, key);
    const bodyEnd = HEADER + sealed.readUInt32BE(14);
    expect(bodyEnd).toBeGreaterThan(3000); // several checksum blocks
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bodyEnd - 1 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
        const bad = Buffer.from(sealed);
        bad[at]! ^= mask;
        const e = decodeError(bad, [key]);
        // A changed version field may honestly look like a newer format; the message says both.
        expect(at >= 4 && at <= 5 ? ['damaged', 'newer-format'] : ['damaged']).toContain(e.kind);
        const [from, to] = e.extra.range!;
        expect(at).toBeGreaterThanOrEqual(from);
        expect(at).toBeLessThanOrEqual(to);
      }),
      { numRuns: 400 },
    );
  });

  it('still opens a file whose only damage is in the checksums, since the ciphertext is authenticated', () => {
    const key = newStateKey();
    const sealed = sealState(sampleState(), key);
    const bad = Buffer.from(sealed);
    bad[bad.length - 1]! ^= 0xff;
    expect(openState(bad, [key]).state).toEqual(sampleState());
  });

  it('tells a truncated file from a wrong key', () => {
    const key = newStateKey();
    const sealed = sealState(sampleState(), key);
    const e = decodeError(sealed.subarray(0, sealed.length - 100), [key]);
    expect(e.kind).toBe('damaged');
    expect(e.detail).toMatch(/cut short|damaged/);
    expect(decodeError(Buffer.alloc(0), [key]).kind).toBe('damaged');
  });

  it('says a file written with another key is the wrong key, naming that key by its id', () => {
    const writer = newStateKey();
    const reader = newStateKey();
    const e = decodeError(sealState(sampleState(), writer), [reader]);
    expect(e.kind).toBe('wrong-key');
    expect(e.extra.fileKeyId).toBe(keyIdOf(writer));
    expect(e.detail).toContain(keyIdOf(writer));
  });

  it('opens a file with whichever of two keys wrote it', () => {
    const [a, b] = [newStateKey(), newStateKey()];
    expect(openState(sealState(sampleState(), b), [a, b]).keyIndex).toBe(1);
    expect(openState(sealState(sampleState(), a), [a, b]).keyIndex).toBe(0);
  });

  it('names a key by an id that is neither the key nor a plain hash of it', () => {
    const key = newStateKey();
    const id = keyIdOf(key);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(Buffer.from(key).toString('hex')).not.toContain(id);
    expect(Buffer.from(sodium.crypto_generichash(32, key, null)).toString('hex')).not.toContain(id);
    expect(keyIdOf(newStateKey())).not.toBe(id);
  });

  it('refuses a newer format as newer, not as damage', () => {
    const key = newStateKey();
    const sealed = Buffer.from(sealState(sampleState(), key));
    sealed.writeUInt16BE(2, 4);
    const e = decodeError(resum(sealed), [key]);
    expect(e.kind).toBe('newer-format');
    expect(e.extra.range).toBeUndefined();
  });

  it('binds the header to the ciphertext: a rewritten header fails even with fresh checksums', () => {
    const key = newStateKey();
    const sealed = Buffer.from(sealState(sampleState(), key));
    sealed[HEADER + 5]! ^= 1; // ciphertext changed, checksums recomputed
    expect(decodeError(resum(sealed), [key]).kind).toBe('tampered');
    const other = newStateKey();
    const relabelled = Buffer.from(sealState(sampleState(), other));
    Buffer.from(sodium.crypto_generichash(16, 'tabcrew state key id v1', key).subarray(0, 8)).copy(relabelled, 6);
    expect(decodeError(resum(relabelled), [key]).kind).toBe('tampered');
  });

  it('reads plaintext JSON under the encrypted name as damage, not as a key problem', () => {
    const e = decodeError(Buffer.from(JSON.stringify(sampleState())), [newStateKey()]);
    expect(e.kind).toBe('damaged');
    expect(e.detail).toContain('plaintext JSON');
  });
});
