import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * The high-water mark: the newest state generation tabcrew wrote, in a small file beside the
 * state (state.enc.mark), MAC'd with a key derived from the state key. A state file copied
 * back from an earlier generation carries its own, lower generation and cannot raise the
 * mark; forging a mark needs the state key.
 */

export const MARK_SUFFIX = '.mark';
const LABEL = 'tabcrew state high-water mark v1';

function tag(stateKey: Uint8Array, generation: number): Buffer {
  const markKey = createHmac('sha256', stateKey).update(LABEL).digest();
  return createHmac('sha256', markKey).update(`${LABEL}\n${generation}`).digest();
}

export function sealMark(generation: number, stateKey: Uint8Array): string {
  return `${JSON.stringify({ generation, mac: tag(stateKey, generation).toString('hex') })}\n`;
}

export type OpenedMark = { generation: number } | { problem: string };

/** The generation a mark file records, when one of `keys` made its MAC. */
export function openMark(bytes: Buffer, keys: readonly Uint8Array[]): OpenedMark {
  let parsed: { generation?: unknown; mac?: unknown };
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as typeof parsed;
  } catch {
    return { problem: 'is not a tabcrew high-water mark (not JSON)' };
  }
  const { generation, mac } = parsed ?? {};
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 0 || typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) {
    return { problem: 'is not a tabcrew high-water mark (no generation and MAC)' };
  }
  const given = Buffer.from(mac, 'hex');
  if (keys.some((k) => timingSafeEqual(tag(k, generation), given))) return { generation };
  return { problem: `fails authentication (it says generation ${generation}): it was altered, or made with a key this tabcrew was not given` };
}
