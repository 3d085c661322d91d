import { TerminalError } from './backend.js';

/*
 * What tmux's names and screens read as: session names made from titles, vis(3)-decoded
 * names, and the last lines of a capture.
 */

const MAX_LINES = 100_000;

/**
 * The tmux session of a group: its title for people first (`app-s-4k2x9q1m`), reduced to
 * what tmux keeps as it is in a name and a target; the group (unique) after it.
 */
export function tmuxSessionName(group: string, title?: string): string {
  const readable = (title ?? '')
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 32)
    .replace(/-$/, '');
  return readable ? `${readable}-${group}` : group;
}

export function lineCount(lines: number): number {
  if (!Number.isFinite(lines) || lines < 1) throw new TerminalError(`line count must be at least 1, got ${lines}`, 'failed');
  return Math.min(Math.floor(lines), MAX_LINES);
}

export function lastLines(text: string, n: number): string {
  const lines = text.split('\n').map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n).join('\n');
}

const VIS_C: Record<string, number> = { n: 10, r: 13, t: 9, b: 8, a: 7, v: 11, f: 12, s: 32, '0': 0, E: 27, '\\': 92 };

/**
 * tmux stores window and session names through vis(3) (C-style and octal escapes,
 * `\\` for a backslash), so a name is decoded back to the text that was set.
 */
export function unvis(s: string): string {
  if (!s.includes('\\')) return s;
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of s.matchAll(/\\(?:([0-7]{3})|([\s\S]))/g)) {
    parts.push(Buffer.from(s.slice(last, m.index), 'utf8'));
    const code = m[1] !== undefined ? parseInt(m[1], 8) : VIS_C[m[2]!];
    parts.push(code !== undefined ? Buffer.from([code]) : Buffer.from(m[0], 'utf8'));
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(s.slice(last), 'utf8'));
  return Buffer.concat(parts).toString('utf8');
}
