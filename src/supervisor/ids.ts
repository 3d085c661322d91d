import { randomBytes, randomUUID } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

function token(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

export const newSessionId = (): string => `s-${token(8)}`;
export const newDeliveryId = (): string => `d-${token(10)}`;
export const newClaudeSessionId = (): string => randomUUID();
export const newRunId = (): string => `r-${token(8)}`;
