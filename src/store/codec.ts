/** Turns a State into bytes and back; what the bytes hold is validated by the store (validate.ts). */
export interface StateCodec {
  /** The newest generation's file name in the state dir; `state.json` when absent. */
  readonly fileName?: string;
  encode(state: object): Buffer;
  /** The JSON value the file holds, not yet validated; throws StateDecodeError. */
  decode(bytes: Buffer, file: string): unknown;
  /** Keys for the MAC of the high-water mark, the one to write with first; never empty. */
  markKeys(): Uint8Array[];
  /** Re-reads the keys after a file named a key this codec lacks; true when that changed them. */
  reloadKeys?(): Promise<boolean>;
  /** Which key(s) it tried, for messages; never the key. */
  keyDescription?(): string;
}

export type DecodeFailure = 'damaged' | 'wrong-key' | 'newer-format' | 'tampered' | 'invalid' | 'rollback';

/** Why a state file could not be opened; the store turns it into a message naming the file. */
export class StateDecodeError extends Error {
  override name = 'StateDecodeError';
  constructor(
    readonly kind: DecodeFailure,
    /** Completes "<file> …": says what is wrong with the bytes. */
    readonly detail: string,
    readonly extra: { range?: [number, number]; fileKeyId?: string; formatVersion?: number } = {},
  ) {
    super(detail);
  }
}

/** Plaintext JSON: the previous version's format, read once to migrate it; tests may use it directly. */
export const jsonCodec: StateCodec = {
  encode: (state) => Buffer.from(JSON.stringify(state)),
  decode(bytes) {
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch (e) {
      throw new StateDecodeError('damaged', `is not valid JSON (${(e as Error).message})`);
    }
  },
  // Plaintext has no key: its mark catches a copied-back file, not a forger.
  markKeys: () => [Buffer.from('tabcrew plaintext state: no key')],
};
