/**
 * Text about to be typed into a terminal. A terminal acts on control codes, so a message
 * carrying `ESC[201~` could end a bracketed paste early and have the rest typed as keys,
 * and an OSC sequence could retitle the tab or write to the clipboard. Every control code
 * except LF and TAB therefore becomes a visible stand-in that means nothing to a terminal.
 */
export function sanitizeForTerminal(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(CONTROLS, standIn);
}

// C0 (minus TAB and LF), DEL and C1. CR is gone by the time this runs.
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

function standIn(c: string): string {
  const code = c.charCodeAt(0);
  if (code < 0x20) return String.fromCharCode(0x2400 + code); // Control Pictures: ESC → ␛
  if (code === 0x7f) return '\u2421'; // ␡
  return '\ufffd';
}
