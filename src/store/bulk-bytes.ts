import type Sodium from 'libsodium-wrappers';

/*
 * The byte work of sealing a state, done without libsodium-wrappers' per-call cost: its
 * pad() walks the buffer in JavaScript (~10 ms for a 1,000-agent state) and each
 * crypto_generichash() call copies its block into WebAssembly memory and back (~5 ms for
 * 512 blocks). The bytes are exactly libsodium's (test/store/bulk-bytes.test.ts compares them).
 */

/** libsodium's ISO/IEC 7816-4 padding: 0x80, then zeros up to a multiple of `block` (always at least one byte). */
export function padTo(text: string, block: number): Buffer {
  const n = Buffer.byteLength(text, 'utf8');
  const padded = Buffer.alloc(n + block - (n % block));
  padded.write(text, 0, 'utf8');
  padded[n] = 0x80;
  return padded;
}

/** The inverse of padTo (sodium.unpad): the bytes before the last 0x80, which only zeros may follow. Throws when the padding is not valid. */
export function unpadFrom(padded: Uint8Array, block: number): Uint8Array {
  if (padded.length === 0 || padded.length % block !== 0) throw new Error('invalid padding');
  for (let i = padded.length - 1; i >= padded.length - block; i--) {
    if (padded[i] === 0x80) return padded.subarray(0, i);
    if (padded[i] !== 0) break;
  }
  throw new Error('invalid padding');
}

/** The part of the Emscripten module under libsodium-wrappers this file uses. */
interface RawSodium {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(p: number): void;
  _crypto_generichash(out: number, outLen: number, input: number, inLenLow: number, inLenHigh: number, key: number, keyLen: number): number;
}

/**
 * Unkeyed BLAKE2b (16-byte digest, first `keep` bytes kept) of each `block`-byte slice of
 * bytes[0, end): the message is copied into WebAssembly memory once, not once per block.
 */
export function blockHashes(sodium: typeof Sodium, bytes: Uint8Array, end: number, block: number, keep: number): Buffer {
  const count = Math.ceil(end / block);
  const table = Buffer.alloc(count * keep);
  const raw = (sodium as unknown as { libsodium?: RawSodium }).libsodium;
  if (!raw?._crypto_generichash || !raw._malloc) {
    for (let i = 0, at = 0; at < end; i++, at += block) {
      Buffer.from(sodium.crypto_generichash(16, bytes.subarray(at, Math.min(at + block, end)), null)).copy(table, i * keep, 0, keep);
    }
    return table;
  }
  const input = raw._malloc(Math.max(end, 1));
  const out = raw._malloc(16 * count);
  try {
    // HEAPU8 is replaced when memory grows, so it is read after the allocations.
    raw.HEAPU8.set(bytes.subarray(0, end), input);
    for (let i = 0, at = 0; at < end; i++, at += block) {
      if (raw._crypto_generichash(out + 16 * i, 16, input + at, Math.min(block, end - at), 0, 0, 0) !== 0) throw new Error('crypto_generichash failed');
    }
    const heap = raw.HEAPU8;
    for (let i = 0; i < count; i++) table.set(heap.subarray(out + 16 * i, out + 16 * i + keep), i * keep);
  } finally {
    raw._free(input);
    raw._free(out);
  }
  return table;
}
