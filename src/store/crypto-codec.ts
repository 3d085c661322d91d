import type Sodium from 'libsodium-wrappers';

// Loaded on first use: ~400 KB of WebAssembly glue that an MCP client's handshake need not wait for.
let sodium: typeof Sodium;
import { StateDecodeError, type StateCodec } from './codec.js';
import { blockHashes, padTo, unpadFrom } from './bulk-bytes.js';

/*
 * The encrypted state file (docs/state.md has the same table):
 *
 *   offset  bytes  field
 *   0       4      magic "TCSE"
 *   4       2      format version, big-endian (1)
 *   6       8      key id: BLAKE2b keyed with the state key over a fixed label
 *   14      4      ciphertext length n, big-endian
 *   18      24     nonce (random per write)
 *   42      n      XChaCha20-Poly1305 of the padded JSON; associated data = bytes 0..17
 *   42+n    8/KiB  one 8-byte BLAKE2b checksum per 1 KiB of bytes 0..42+n-1
 *
 * The AEAD alone cannot tell a wrong key from a damaged file: both are one failed tag.
 * The key id says which key wrote the file, and the unkeyed checksums say whether the
 * bytes are still the ones written and, if not, where they changed. Neither reveals
 * anything about the key or the state.
 */

export const STATE_FORMAT_VERSION = 1;
export const ENCRYPTED_STATE_FILE = 'state.enc';
const MAGIC = Buffer.from('TCSE', 'latin1');
const KEY_ID_BYTES = 8;
const AD_BYTES = 18;
const NONCE_BYTES = 24;
const HEADER_BYTES = AD_BYTES + NONCE_BYTES;
const TAG_BYTES = 16;
const CHECKSUM_BLOCK = 1024;
const CHECKSUM_BYTES = 8;
// Padding hides the exact length of root paths and names; a state grows in 1 KiB steps.
const PAD_BLOCK = 1024;
const KEY_ID_LABEL = 'tabcrew state key id v1';
export const STATE_KEY_BYTES = 32;

export async function sodiumReady(): Promise<void> {
  sodium ??= (await import('libsodium-wrappers')).default;
  await sodium.ready;
}

/** A short public name for a key: a keyed hash, so it identifies the key without revealing it. */
export function keyIdOf(key: Uint8Array): string {
  return Buffer.from(keyIdBytes(key)).toString('hex');
}

function keyIdBytes(key: Uint8Array): Uint8Array {
  if (key.length !== STATE_KEY_BYTES) throw new Error(`a state key is ${STATE_KEY_BYTES} bytes, this one is ${key.length}`);
  return sodium.crypto_generichash(16, KEY_ID_LABEL, key).subarray(0, KEY_ID_BYTES);
}

export function newStateKey(): Uint8Array {
  return sodium.crypto_aead_xchacha20poly1305_ietf_keygen();
}

export function sealState(state: object, key: Uint8Array): Buffer {
  const padded = padTo(JSON.stringify(state), PAD_BLOCK);
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt16BE(STATE_FORMAT_VERSION, 4);
  Buffer.from(keyIdBytes(key)).copy(header, 6);
  header.writeUInt32BE(padded.length + TAG_BYTES, 14);
  Buffer.from(sodium.randombytes_buf(NONCE_BYTES)).copy(header, AD_BYTES);
  const sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(padded, header.subarray(0, AD_BYTES), null, header.subarray(AD_BYTES), key);
  padded.fill(0);
  const body = Buffer.concat([header, sealed]);
  return Buffer.concat([body, blockHashes(sodium, body, body.length, CHECKSUM_BLOCK, CHECKSUM_BYTES)]);
}

export interface OpenedState {
  /** The JSON the file holds, not yet validated (the store does that). */
  state: unknown;
  /** Index into the keys given to openState of the key that opened it. */
  keyIndex: number;
  keyId: string;
}

/** Decrypts a state file with whichever of `keys` wrote it; throws StateDecodeError. */
export function openState(bytes: Buffer, keys: readonly Uint8Array[]): OpenedState {
  const size = bytes.length;
  if (size < HEADER_BYTES + TAG_BYTES + CHECKSUM_BYTES) {
    if (size > 0 && bytes[0] === 0x7b) {
      throw new StateDecodeError('damaged', 'holds plaintext JSON, not an encrypted tabcrew state', { range: [0, 0] });
    }
    throw new StateDecodeError('damaged', `is truncated: ${size} bytes, an encrypted state is at least ${HEADER_BYTES + TAG_BYTES + CHECKSUM_BYTES}`, {
      range: [size, size],
    });
  }
  if (!bytes.subarray(0, 4).equals(MAGIC)) {
    const plain = bytes[0] === 0x7b ? ' (it holds plaintext JSON)' : '';
    throw new StateDecodeError('damaged', `is not an encrypted tabcrew state${plain}: bytes 0–3 should read "TCSE"`, { range: [0, 3] });
  }
  const version = bytes.readUInt16BE(4);
  const fileKeyId = bytes.subarray(6, 6 + KEY_ID_BYTES).toString('hex');
  const n = bytes.readUInt32BE(14);
  const expected = HEADER_BYTES + n + checksumTableBytes(HEADER_BYTES + n);
  if (version !== STATE_FORMAT_VERSION) {
    // A damaged version field must not pass for "newer": when the v1 checksums still hold,
    // the version is what was written; otherwise either may be true, and the message says so.
    const intact = expected === size && firstDamage(bytes, HEADER_BYTES + n) === null;
    if (version > STATE_FORMAT_VERSION) {
      const or = intact ? '' : ', or bytes 4–5 of it are damaged';
      throw new StateDecodeError(
        'newer-format',
        `says it was written by a newer tabcrew (state format ${version}; this one reads format ${STATE_FORMAT_VERSION})${or}`,
        { formatVersion: version, ...(intact ? {} : { range: [4, 5] as [number, number] }) },
      );
    }
    throw new StateDecodeError('damaged', `is damaged at bytes 4–5 (the format version reads ${version})`, { range: [4, 5] });
  }
  if (expected !== size || n < TAG_BYTES) {
    // Damage in the length field moves where the checksums seem to be; the file's own size
    // says where they really are, and they then point at the damaged block.
    const realBodyEnd = bodyEndForSize(size);
    const damage = realBodyEnd === null ? null : firstDamage(bytes, realBodyEnd);
    if (damage) throw damaged(damage, size);
    throw new StateDecodeError('damaged', `is damaged: it is ${size} bytes but its header (bytes 14–17) says ${expected}, so it was cut short or extended`, {
      range: [Math.min(size, expected), Math.max(size, expected)],
    });
  }
  const bodyEnd = HEADER_BYTES + n;
  const keyIndex = keys.findIndex((k) => keyIdOf(k) === fileKeyId);
  if (keyIndex < 0) {
    const damage = firstDamage(bytes, bodyEnd);
    if (damage) throw damaged(damage, size);
    throw new StateDecodeError('wrong-key', `was written with a different key (key id ${fileKeyId})`, { fileKeyId });
  }
  let padded: Uint8Array;
  try {
    padded = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      bytes.subarray(HEADER_BYTES, bodyEnd),
      bytes.subarray(0, AD_BYTES),
      bytes.subarray(AD_BYTES, HEADER_BYTES),
      keys[keyIndex]!,
    );
  } catch {
    const damage = firstDamage(bytes, bodyEnd);
    if (damage) throw damaged(damage, size);
    // Intact checksums with a failing tag: changed by something that recomputed them, not by the disk.
    throw new StateDecodeError('tampered', 'fails authentication although its checksums match: it was altered after tabcrew wrote it', {
      fileKeyId,
    });
  }
  let json: Uint8Array;
  try {
    json = unpadFrom(padded, PAD_BLOCK);
  } catch {
    throw new StateDecodeError('tampered', 'decrypts but its padding is invalid: it was not written by this tabcrew', { fileKeyId });
  }
  try {
    const state = JSON.parse(Buffer.from(json.buffer, json.byteOffset, json.length).toString('utf8')) as unknown;
    return { state, keyIndex, keyId: fileKeyId };
  } catch (e) {
    throw new StateDecodeError('tampered', `decrypts but holds no valid state (${(e as Error).message})`, { fileKeyId });
  } finally {
    sodium.memzero(padded);
  }
}

/** The key id recorded in a state file's header, or null when the header is not one of ours. */
export function fileKeyIdOf(bytes: Buffer): string | null {
  if (bytes.length < HEADER_BYTES || !bytes.subarray(0, 4).equals(MAGIC)) return null;
  return bytes.subarray(6, 6 + KEY_ID_BYTES).toString('hex');
}

/** The body length a file of `size` bytes has when its checksum table is intact, or null. */
function bodyEndForSize(size: number): number | null {
  for (let blocks = 1; blocks * (CHECKSUM_BLOCK + CHECKSUM_BYTES) < size + CHECKSUM_BLOCK + CHECKSUM_BYTES; blocks++) {
    const bodyEnd = size - blocks * CHECKSUM_BYTES;
    if (bodyEnd >= HEADER_BYTES && checksumTableBytes(bodyEnd) === blocks * CHECKSUM_BYTES) return bodyEnd;
  }
  return null;
}

function checksumTableBytes(bodyBytes: number): number {
  return Math.ceil(bodyBytes / CHECKSUM_BLOCK) * CHECKSUM_BYTES;
}

/** The first 1 KiB block whose checksum no longer matches, as an inclusive byte range. */
function firstDamage(bytes: Buffer, bodyEnd: number): [number, number] | null {
  const table = blockHashes(sodium, bytes, bodyEnd, CHECKSUM_BLOCK, CHECKSUM_BYTES);
  for (let i = 0, at = 0; at < bodyEnd; i++, at += CHECKSUM_BLOCK) {
    const stored = bytes.subarray(bodyEnd + i * CHECKSUM_BYTES, bodyEnd + (i + 1) * CHECKSUM_BYTES);
    if (!table.subarray(i * CHECKSUM_BYTES, (i + 1) * CHECKSUM_BYTES).equals(stored)) return [at, Math.min(at + CHECKSUM_BLOCK, bodyEnd) - 1];
  }
  return null;
}

function damaged(range: [number, number], size: number): StateDecodeError {
  return new StateDecodeError('damaged', `is damaged within bytes ${range[0]}–${range[1]} (the file has ${size} bytes)`, { range });
}

export interface StateKeys {
  current: Uint8Array;
  /** A key a rotation has saved but not yet made current: files may already be under it. */
  next: Uint8Array | null;
}

/**
 * The StateCodec of the encrypted store: writes with the newest key, reads with whichever
 * of current/next wrote the file, and re-reads the keys when a file names neither (another
 * tabcrew may have rotated them since this one started).
 */
export class EncryptedCodec implements StateCodec {
  readonly fileName = ENCRYPTED_STATE_FILE;

  private constructor(
    private keys: StateKeys,
    private readonly source: { where: string; reload?: () => Promise<StateKeys> },
  ) {}

  static async create(keys: StateKeys, source: { where: string; reload?: () => Promise<StateKeys> }): Promise<EncryptedCodec> {
    await sodiumReady();
    return new EncryptedCodec(keys, source);
  }

  encode(state: object): Buffer {
    // A pending key is already durable in the key store, and writing with it means a
    // rotation left half done (or an env rotation awaiting the swap) only moves forward.
    return sealState(state, this.keys.next ?? this.keys.current);
  }

  decode(bytes: Buffer): unknown {
    return openState(bytes, this.keys.next ? [this.keys.current, this.keys.next] : [this.keys.current]).state;
  }

  markKeys(): Uint8Array[] {
    return this.keys.next ? [this.keys.next, this.keys.current] : [this.keys.current];
  }

  async reloadKeys(): Promise<boolean> {
    if (!this.source.reload) return false;
    const before = this.keyIds().join();
    this.keys = await this.source.reload();
    return this.keyIds().join() !== before;
  }

  keyIds(): string[] {
    return [this.keys.current, ...(this.keys.next ? [this.keys.next] : [])].map(keyIdOf);
  }

  keyDescription(): string {
    const [current, next] = this.keyIds();
    return `the key from ${this.source.where} (key id ${current}${next ? `; pending rotation key id ${next}` : ''})`;
  }
}
