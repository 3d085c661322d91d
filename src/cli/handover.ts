import type { Handover } from '../server/handover-transport.js';

/**
 * The handshake dist/cli.js answered before the bundle loaded (scripts/cli-entry.mjs passes it
 * to main); `serve` takes it once, to continue on the same stdin.
 */
let pending: Handover | undefined;

export function setHandover(handover: Handover | undefined): void {
  pending = handover;
}

export function takeHandover(): Handover | undefined {
  const h = pending;
  pending = undefined;
  return h;
}
