/**
 * Claude Code (2.1.x) pins its input box to the bottom of the terminal and leaves the rows
 * between its conversation and the box blank: on a 50-row screen the last 30 rows can be
 * 26 blank ones and the box. So the screen is read with this many rows more than asked,
 * and what is returned is the last lines of content.
 */
export const SCREEN_PADDING_ROWS = 200;

/** The last `lines` lines of `screen`, with every run of blank lines counted as one. */
export function screenTail(screen: string, lines: number): string {
  const out: string[] = [];
  for (const raw of screen.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' && (out.length === 0 || out[out.length - 1] === '')) continue;
    out.push(line);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.slice(-lines).join('\n');
}
