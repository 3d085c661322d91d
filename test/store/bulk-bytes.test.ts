import sodium from 'libsodium-wrappers';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { blockHashes, padTo, unpadFrom } from '../../src/store/bulk-bytes.js';

beforeAll(async () => {
  await sodium.ready;
});

const LENGTHS = [0, 1, 1023, 1024, 1025, 2047, 2048, 5000, 524_288];

/** libsodium's own way: one crypto_generichash call per block. */
function perBlock(bytes: Uint8Array, end: number, block: number, keep: number): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < end; at += block)
    parts.push(Buffer.from(sodium.crypto_generichash(16, bytes.subarray(at, Math.min(at + block, end)), null)).subarray(0, keep));
  return Buffer.concat(parts);
}

describe("the state's bulk byte work gives libsodium's bytes", () => {
  it('pads exactly as sodium.pad, and unpads what sodium.pad made', () => {
    for (const n of LENGTHS) {
      const text = 'é'.repeat(Math.floor(n / 2)) + 'x'.repeat(n % 2);
      const expected = Buffer.from(sodium.pad(Buffer.from(text, 'utf8'), 1024));
      expect(padTo(text, 1024).equals(expected)).toBe(true);
      expect(Buffer.from(unpadFrom(expected, 1024)).toString('utf8')).toBe(text);
      expect(Buffer.from(sodium.unpad(padTo(text, 1024), 1024)).toString('utf8')).toBe(text);
    }
  });

  it('refuses padding sodium.unpad refuses', () => {
    const bad = [Buffer.alloc(1024), Buffer.alloc(1000, 1), Buffer.concat([Buffer.alloc(1023, 7), Buffer.from([1])]), Buffer.alloc(0)];
    for (const b of bad) {
      expect(() => unpadFrom(b, 1024)).toThrow(/invalid padding/);
      expect(() => sodium.unpad(b, 1024)).toThrow();
    }
  });

  it('hashes every block as one crypto_generichash call per block does, with or without the raw module', () => {
    for (const n of LENGTHS) {
      const bytes = randomBytes(n + 17);
      const expected = perBlock(bytes, n, 1024, 8);
      expect(blockHashes(sodium, bytes, n, 1024, 8).equals(expected)).toBe(true);
      const wrapperOnly = { crypto_generichash: sodium.crypto_generichash } as unknown as typeof sodium;
      expect(blockHashes(wrapperOnly, bytes, n, 1024, 8).equals(expected)).toBe(true);
    }
  });
});
