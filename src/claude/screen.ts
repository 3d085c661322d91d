/**
 * Classifying a plain-text capture of the Claude Code TUI (`tmux capture-pane -p`).
 * Every pattern was observed on Claude Code 2.1.197 and, where marked, 2.1.332 (fixtures in
 * test/fixtures/screens; the verified versions are listed in versions.ts).
 * Screen strings change between releases: hooks are the primary signal, this is the
 * tested fallback (and the only signal for states no hook reports: the trust dialog,
 * an Esc interrupt, a permission answered "No", a rewind menu).
 *
 * Layout of the main screen (2.1.197):
 *   ...conversation...            history prompts are `❯ ` + ASCII space
 *   ──────────────── Agent_1 ──   rule line, with the `--name` at the right
 *   ❯\u00a0<input box text>        input box: `❯` + NO-BREAK SPACE; continuation lines
 *                                 are indented two spaces
 *   ────────────────────────────   rule line
 *     ? for shortcuts · …          footer (`esc to interrupt` while busy)
 */

export type ScreenState =
  | 'trust_dialog'
  | 'api_key_prompt'
  | 'bypass_warning'
  | 'mcp_server_approval'
  | 'external_imports'
  | 'onboarding'
  | 'permission_prompt'
  | 'rewind_menu'
  | 'exited'
  | 'busy'
  | 'idle'
  | 'unknown';

/**
 * The dialogs Claude Code can show before its input box, on a first run or in a new place
 * (docs/claude-code-facts.md#first-run-dialogs). None fires a hook: while one is shown, an
 * agent looks merely slow unless its screen is read.
 */
export const FIRST_RUN_DIALOGS = ['trust_dialog', 'api_key_prompt', 'bypass_warning', 'mcp_server_approval', 'external_imports', 'onboarding'] as const;
export type FirstRunDialog = (typeof FIRST_RUN_DIALOGS)[number];

export function isFirstRunDialog(state: ScreenState): state is FirstRunDialog {
  return (FIRST_RUN_DIALOGS as readonly string[]).includes(state);
}

// Characters outside ASCII are written as \u escapes in these patterns (❯ \u276f, … \u2026, ─ \u2500): the bundle
// keeps a regular expression's characters as they are, and one such character makes V8 hold the whole bundle's
// source at two bytes a character (scripts/bundle.mjs refuses it).
// Trust dialog ("Accessing workspace: … Quick safety check … ❯ 1. Yes, I trust this folder  2. No, exit"), observed on
// 2.1.197. 2.1.332 shows it unnumbered with "No, exit" first, under the cursor: Enter there refuses (trustDialogKeys).
const TRUST_DIALOG = /Yes, I trust this folder|Quick safety check: Is this a project you created or one you trust/;
// One option line of the trust dialog: "❯ 1. Yes, I trust this folder" (2.1.197), "  Yes, I trust this folder" (2.1.332).
const TRUST_OPTION = /^\s*(\u276f\s*)?(?:\d+\.\s*)?(Yes, I trust this folder|No, exit)\s*$/;
// After "No, exit" in the trust dialog: "Claude Code didn't start because this folder isn't trusted.", observed on 2.1.332.
const TRUST_REFUSED = /didn.t start because this folder isn.t trusted/;
// "Detected a custom API key in your environment … Do you want to use this API key?" (default "2. No"), observed on 2.1.197;
// 2.1.332: the same, unnumbered ("  Yes" / "❯ No (recommended)").
const API_KEY_PROMPT = /Detected a custom API key in your environment|Do you want to use this API key\?/;
// "WARNING: Claude Code running in Bypass Permissions mode … 1. No, exit  2. Yes, I accept", observed on 2.1.197 (2.1.332: unnumbered).
const BYPASS_WARNING = /running in Bypass Permissions mode[\s\S]*Yes, I accept/;
// A project's .mcp.json names a server never approved: "New MCP server found in this project: demo … ❯ 1. Use this MCP
// server …  3. Continue without using this MCP server", observed on 2.1.197; 2.1.332: unnumbered, cursor on "Continue without";
// several at once: "3 new MCP servers found in this project" (2.1.332 binary).
const MCP_SERVER_APPROVAL = /\b[Nn]ew MCP servers? found in this project\b/;
// A CLAUDE.md importing files outside the root: "Allow external CLAUDE.md file imports? … External imports: …", observed on
// 2.1.197 (cursor on "1. Yes, allow external imports") and 2.1.332 (unnumbered, cursor on "No, disable external imports").
const EXTERNAL_IMPORTS = /Allow external CLAUDE\.md file imports\?/;
// First-run onboarding splash "Welcome to Claude Code v2.1.197" (without the ╭ box of the main screen), observed on 2.1.197
// and 2.1.332 (there followed by the connectivity check's error offline); its theme step asks "Choose the text style that
// looks best with your terminal" (2.1.332 binary).
const ONBOARDING = /^\s*Welcome to Claude Code v\d|Choose the text style that looks best with your terminal/m;
// Tool permission dialog: "Do you want to proceed?" / "Do you want to create new.txt?" / "… make this edit to …?", observed on 2.1.197.
const PERMISSION_QUESTION = /^\s*Do you want to (?:proceed|create|make this edit|make these edits|allow|run|fetch|use)\b.*\?\s*$/m;
// The permission dialog's first option line " ❯ 1. Yes" (the cursor may sit on another option), observed on 2.1.197.
const PERMISSION_OPTION = /^\s*(?:\u276f\s*)?1\. Yes\b/m;
// Double-Esc on an empty input box opens "Rewind / Restore the code and/or conversation to the point before…", observed on 2.1.197.
const REWIND_MENU = /^\s*Rewind\s*$[\s\S]*Restore the code and\/or conversation/m;
// After /exit the TUI prints "Resume this session with:\nclaude --resume <id-or-name>" and the process ends, observed on 2.1.197.
const EXITED = /^Resume this session with:\s*$/m;
// Busy footer under the input box: "esc to interrupt · ← for agents", observed on 2.1.197.
const BUSY_FOOTER = /\besc to interrupt\b/;
// Busy spinner line just above the input box: "✶ Flowing…", "✻ Channelling… (running stop hook · 0s · ↓ 3 tokens)", observed on 2.1.197.
const SPINNER = /^[^\sA-Za-z0-9]\s+\S+\u2026(?:\s|$)/;
// Horizontal rule line around the input box ("─────…", the upper one may end in " Agent_1 ──"), observed on 2.1.197.
const RULE = /^\u2500{10,}(?:\s+\S.*\s+\u2500+)?\s*$/;
// Input box first line: "❯" then NO-BREAK SPACE (tmux keeps it; other terminals may give a plain space), observed on 2.1.197.
const INPUT_LINE = /^\u276f(?:[\u00a0 ]|$)/;
// Placeholder shown in the (empty) input box while typed messages wait in the queue, observed on 2.1.197.
const QUEUED_PLACEHOLDER = 'Press up to edit queued messages';
/** Shown (dimmed) in the empty box after a turn failed on an API error (2.1.332): not text anyone typed. */
const RESEND_PLACEHOLDER = 'Resend your message to try again';

function lines(text: string): string[] {
  const ls = text
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => l.replace(/\s+$/u, ''));
  while (ls.length && ls[ls.length - 1] === '') ls.pop();
  return ls;
}

export interface InputBox {
  /** Index of the first box line (the `❯` line) in the trimmed capture. */
  line: number;
  /** Text in the box, continuation indentation removed ('' when empty). */
  text: string;
  /** True when the box shows the queued-messages placeholder (then `text` is ''). */
  queued?: boolean;
  /** The `--name` shown in the upper rule line, when there is one. */
  name?: string;
  /** Lines under the lower rule (footer), joined with '\n'. */
  footer: string;
}

/**
 * Finds the input box: the last `❯` line that directly follows a rule line and is
 * followed (after continuation lines) by another rule line.
 */
export function findInputBox(text: string): InputBox | undefined {
  const ls = lines(text);
  for (let i = ls.length - 1; i >= 1; i--) {
    if (!INPUT_LINE.test(ls[i]) || !RULE.test(ls[i - 1])) continue;
    let j = i + 1;
    while (j < ls.length && !RULE.test(ls[j])) j++;
    if (j >= ls.length) continue;
    const body = ls.slice(i, j).map((l, k) => (k === 0 ? l.replace(INPUT_LINE, '') : l.replace(/^ {2}/, '')));
    const nameMatch = /^\u2500+\s+(\S.*?)\s+\u2500+\s*$/.exec(ls[i - 1]);
    let boxText = body
      .join('\n')
      .replace(/\u00a0/g, ' ')
      .trimEnd();
    const queued = boxText === QUEUED_PLACEHOLDER;
    if (queued || boxText === RESEND_PLACEHOLDER) boxText = '';
    return {
      line: i,
      text: boxText,
      queued,
      name: nameMatch?.[1],
      footer: ls.slice(j + 1).join('\n'),
    };
  }
  return undefined;
}

/** Classifies a capture of the Claude Code TUI. See ScreenState. */
export function classifyScreen(text: string): ScreenState {
  const ls = lines(text);
  const all = ls.join('\n');
  const box = findInputBox(all);
  if (!box) {
    // Dialogs replace the input box. Look at the bottom only, so words of a dialog
    // quoted higher up in the conversation do not count.
    const bottom = ls.slice(-40).join('\n');
    if (TRUST_REFUSED.test(ls.slice(-6).join('\n'))) return 'exited';
    if (TRUST_DIALOG.test(bottom)) return 'trust_dialog';
    if (API_KEY_PROMPT.test(bottom)) return 'api_key_prompt';
    if (BYPASS_WARNING.test(bottom)) return 'bypass_warning';
    if (MCP_SERVER_APPROVAL.test(bottom)) return 'mcp_server_approval';
    if (EXTERNAL_IMPORTS.test(bottom)) return 'external_imports';
    const tail = ls.slice(-25).join('\n');
    if (PERMISSION_QUESTION.test(tail) && PERMISSION_OPTION.test(tail)) return 'permission_prompt';
    if (REWIND_MENU.test(bottom)) return 'rewind_menu';
    if (EXITED.test(ls.slice(-6).join('\n'))) return 'exited';
    if (ONBOARDING.test(all)) return 'onboarding';
    return 'unknown';
  }
  // Something printed under the box after it (e.g. the exit notice) wins.
  if (EXITED.test(box.footer)) return 'exited';
  if (BUSY_FOOTER.test(box.footer)) return 'busy';
  // Spinner in the few lines right above the box (the footer can be blank mid-paint).
  for (let k = box.line - 2; k >= Math.max(0, box.line - 4); k--) {
    if (SPINNER.test(ls[k])) return 'busy';
  }
  return 'idle';
}

/** Keys that move the trust dialog's cursor or confirm it (a subset of the terminals' TerminalKey). */
export type TrustDialogKey = 'Enter' | 'Down' | 'Up';

/**
 * The keys that answer the folder-trust dialog with "Yes, I trust this folder", one step at a
 * time: `['Enter']` only when the cursor (`❯`) is on the Yes line, otherwise the arrow presses
 * that bring it there (then read the screen again). Enter is never sent blind: the option order
 * changed between releases (2.1.197: Yes first; 2.1.332: "No, exit" first and the default), and
 * an Enter on "No, exit" ends Claude Code. Undefined when no such dialog with a cursor is shown.
 */
export function trustDialogKeys(text: string): TrustDialogKey[] | undefined {
  const options = lines(text)
    .slice(-40)
    .map((l) => TRUST_OPTION.exec(l))
    .map((m, i) => (m ? { i, cursor: Boolean(m[1]), yes: m[2].startsWith('Yes') } : undefined))
    .filter((o) => o !== undefined);
  // The dialog's own two lines are the last ones; an earlier echo of them would be conversation.
  const last = options.slice(-2);
  const yes = last.findIndex((o) => o.yes);
  const cursor = last.findIndex((o) => o.cursor);
  if (last.length !== 2 || yes < 0 || cursor < 0 || last[0].i + 1 !== last[1].i) return undefined;
  if (cursor === yes) return ['Enter'];
  return [yes > cursor ? 'Down' : 'Up'];
}
