// How the page shows agent text: pure functions, no DOM (test/server/dashboard-text.test.ts).

// Glyphs Claude Code draws (its footer's "⏵⏵ accept edits on", "⏸ plan mode", the "⏺" before a
// message, the "⎿" before a tool's output) that common fonts lack: they rendered as empty
// boxes. Each becomes a look-alike that DejaVu, Menlo, Consolas and the like all have.
const GLYPHS = new Map([
  ['⏵', '▸'],
  ['⏴', '◂'],
  ['⏶', '▴'],
  ['⏷', '▾'],
  ['⏺', '●'],
  ['⏸', '‖'],
  ['⏹', '■'],
  ['⎿', '└'],
  ['⧉', '❐'],
]);
const GLYPH = new RegExp(`[${[...GLYPHS.keys()].join('')}]`, 'gu');

/** Text as the page can draw it: Claude Code's glyphs that fonts lack replaced by ones they have. */
export const displayable = (text) => String(text ?? '').replace(GLYPH, (g) => GLYPHS.get(g));

// Claude Code hands a long paste to the model wrapped: `<pasted_content id="781f">\n…\n</pasted_content id="781f">`.
const PASTED = /<pasted_content\b[^>\n]{0,80}>\n?([\s\S]*?)\n?<\/pasted_content\b[^>\n]{0,80}>/g;

/** The text a person pasted, without the tags Claude Code wrapped it in. */
export const unwrapPasted = (text) => String(text ?? '').replace(PASTED, '$1');

/** The prompt as the person wrote it: pasted text unwrapped, without the one-line ADDER+ header tabcrew put before it. */
export const promptText = (prompt) =>
  unwrapPasted(prompt)
    .trim()
    .replace(/^\[ADDER\+[^\]\n]*\]\s*/, '');

/**
 * At most `max` characters of `text` for a card: whole lines while they fit; the line that
 * does not is cut at a word boundary and ends with "…", never in the middle of a word.
 */
export function excerpt(text, max) {
  const t = String(text ?? '').trim();
  if (t.length <= max) return t;
  const cut = t.slice(0, max);
  // The last whitespace before the cut, unless that throws most of it away (one very long word).
  const space = cut.search(/\s\S*$/);
  const head = space > max / 2 ? cut.slice(0, space) : cut;
  return `${head.trimEnd()}…`;
}
