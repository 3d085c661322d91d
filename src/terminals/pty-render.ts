import type { Terminal } from '@xterm/headless';

/**
 * Plain text of the last `n` lines of screen plus scrollback, as `tmux capture-pane -p -J`
 * gives it: wrapped rows joined into one line, trailing spaces and trailing blank lines
 * dropped. Walks up from the bottom so a long scrollback is not rendered for a few lines.
 */
export function render(term: Terminal, n: number): string {
  const buf = term.buffer.active;
  const out: string[] = [];
  let row = buf.length - 1;
  let inText = false;
  while (row >= 0 && out.length < n) {
    let first = row;
    while (first > 0 && buf.getLine(first)?.isWrapped) first--;
    let text = '';
    // Rows that wrap keep their trailing blanks: they are spaces inside the line.
    for (let r = first; r <= row; r++) text += buf.getLine(r)?.translateToString(r === row) ?? '';
    row = first - 1;
    text = text.trimEnd();
    if (!inText && text === '') continue;
    inText = true;
    out.push(text);
  }
  return out.reverse().join('\n');
}
