#!/usr/bin/env node
/**
 * A stand-in for Claude Code, as tabcrew sees it, for benchmarks and fast tests.
 * Dependency-free. It follows docs/claude-code-facts.md (2.1.197):
 *
 * - argv: --session-id <uuid> | --resume <uuid>, --name, --append-system-prompt(-file),
 *   --settings <file>, --model, --permission-mode; anything else is refused (exit 1), as
 *   Claude Code refuses an unknown option, so a change in tabcrew's argv shows up.
 * - hooks: the `hooks` of the --settings file, each command run as Claude Code runs it:
 *   `/bin/sh -c <command>`, or `command` with its `args` and no shell (exec form, 2.1.332),
 *   with this process's environment and cwd, the hook JSON on
 *   stdin (session_id, transcript_path, cwd, hook_event_name, permission_mode, plus
 *   source / prompt / reason / last_assistant_message), stdout collected and dropped.
 * - screen: Claude Code's main-screen structure (test/fixtures/screens/idle.txt, busy.txt):
 *   rule line ending in ` <name> ──`, the input box line `❯` + NO-BREAK SPACE, a rule,
 *   then the footer `? for shortcuts` (idle) or `esc to interrupt` (busy).
 * - input: raw tty, bracketed paste (ESC[?2004h). Pasted or typed text goes to the box;
 *   a lone CR submits it (UserPromptSubmit, busy for STAND_IN_TURN_MS, transcript lines,
 *   Stop). Enter while busy queues the text. Esc while busy interrupts (no hook); Esc Esc
 *   clears text in the box. `/exit` fires SessionEnd (prompt_input_exit) and exits.
 *   SIGHUP (tab killed) fires SessionEnd (other) and exits.
 * - transcript: `$CLAUDE_CONFIG_DIR|$HOME/.claude/projects/<encoded cwd>/<id>.jsonl`,
 *   written from the first prompt on (a conversation without one has no transcript, so
 *   `--resume` of it is refused, as Claude Code refuses it).
 *
 * Environment: STAND_IN_TURN_MS (busy time per prompt, default 200), STAND_IN_START_MS
 * (delay before the first screen, default 0), STAND_IN_LOG (file: one JSON line per
 * start with the process start time and the time SessionStart's hooks finished).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';

const VERSION = '2.1.197-stand-in';
const TURN_MS = Number(process.env.STAND_IN_TURN_MS ?? 200);
const START_MS = Number(process.env.STAND_IN_START_MS ?? 0);

// ---- argv -------------------------------------------------------------------------------

function parseArgs(argv) {
  const withValue = new Set([
    '--session-id',
    '--resume',
    '--name',
    '--append-system-prompt',
    '--append-system-prompt-file',
    '--settings',
    // tabcrew's agent tools (agent-mcp): a stand-in has no model to call them, so the config is only taken.
    '--mcp-config',
    '--model',
    '--permission-mode',
  ]);
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--version' || a === '-v') {
      process.stdout.write(`${VERSION} (Claude Code)\n`);
      process.exit(0);
    }
    if (!withValue.has(a)) fatal(`error: unknown option '${a}'`);
    if (i + 1 >= argv.length) fatal(`error: option '${a}' argument missing`);
    o[a.slice(2)] = argv[++i];
  }
  if (o['session-id'] && o.resume) fatal('error: --session-id cannot be used with --resume');
  const id = o['session-id'] ?? o.resume ?? randomUUID();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) fatal(`error: invalid session id ${id}`);
  return { ...o, sessionId: id, resuming: !!o.resume };
}

function fatal(msg) {
  process.stderr.write(`${msg}\n`);
  process.exit(1);
}

const args = parseArgs(process.argv.slice(2));
const cwd = process.cwd();
const name = args.name ?? '';
const permissionMode = args['permission-mode'] ?? 'default';

// ---- transcript -------------------------------------------------------------------------

function encodeProjectDir(dir) {
  const encoded = dir.replace(/[^a-zA-Z0-9]/g, '-');
  if (encoded.length <= 200) return encoded;
  let h = 0;
  for (let i = 0; i < dir.length; i++) h = (Math.imul(h, 31) + dir.charCodeAt(i)) | 0;
  return `${encoded.slice(0, 200)}-${Math.abs(h).toString(36)}`;
}

let realCwd = resolve(cwd);
try {
  realCwd = realpathSync(realCwd);
} catch {
  /* keep as given */
}
const configDir = process.env.CLAUDE_CONFIG_DIR || join(process.env.HOME ?? '', '.claude');
const transcriptPath = join(configDir, 'projects', encodeProjectDir(realCwd), `${args.sessionId}.jsonl`);

if (args.resuming && !existsSync(transcriptPath)) fatal(`No conversation found with session ID: ${args.sessionId}`);

let lastUuid = null;
function appendTranscript(entry) {
  const uuid = randomUUID();
  const line = {
    parentUuid: lastUuid,
    isSidechain: false,
    userType: 'external',
    cwd,
    sessionId: args.sessionId,
    version: VERSION,
    ...entry,
    uuid,
    timestamp: new Date().toISOString(),
  };
  lastUuid = uuid;
  mkdirSync(dirname(transcriptPath), { recursive: true });
  appendFileSync(transcriptPath, `${JSON.stringify(line)}\n`);
}

// ---- hooks --------------------------------------------------------------------------------

let hooks = {};
if (args.settings) {
  try {
    hooks = JSON.parse(readFileSync(args.settings, 'utf8')).hooks ?? {};
  } catch (e) {
    fatal(`Settings file ${args.settings} could not be read: ${e.message}`);
  }
}

/** Runs every hook command for `event` in parallel, as Claude Code does; resolves when all ended. */
function fireHook(event, extra = {}, matchOn) {
  const input = JSON.stringify({
    session_id: args.sessionId,
    transcript_path: transcriptPath,
    cwd,
    permission_mode: permissionMode,
    hook_event_name: event,
    ...extra,
  });
  const runs = [];
  for (const group of hooks[event] ?? []) {
    const m = group.matcher;
    if (m && m !== '*' && matchOn !== undefined && !new RegExp(`^(?:${m})$`).test(matchOn)) continue;
    for (const h of group.hooks ?? []) {
      if (h.type !== 'command' || typeof h.command !== 'string') continue;
      runs.push(
        new Promise((done) => {
          // Exec form (`args`): the program itself, no shell; otherwise the command text through a shell.
          const [file, argv] = Array.isArray(h.args) ? [h.command, h.args] : ['/bin/sh', ['-c', h.command]];
          const child = spawn(file, argv, { cwd, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
          const timer = setTimeout(() => child.kill('SIGKILL'), (h.timeout ?? 60) * 1000);
          child.stdout.resume();
          child.stderr.resume();
          child.on('error', () => done());
          child.on('close', () => {
            clearTimeout(timer);
            done();
          });
          child.stdin.on('error', () => {});
          child.stdin.end(input);
        }),
      );
    }
  }
  return Promise.all(runs);
}

// ---- screen ---------------------------------------------------------------------------------

const NBSP = '\u00a0';
let box = ''; // input box text
let escArmed = false;
let busy = false;
let turn = 0;
let exiting = false;
const queue = [];
const history = []; // conversation lines shown above the box
let turnTimer = null;
let turnEnd = () => {};
let currentPrompt = '';

function cols() {
  return Math.max(40, (process.stdout.columns || 120) - 1);
}

function draw() {
  if (exiting) return;
  const w = cols();
  const label = name ? ` ${name} ──` : '';
  // Long text shows as a placeholder, as in Claude Code, so the box always fits the screen.
  const boxLines = box.split('\n');
  const shown =
    queue.length && !box
      ? ['Press up to edit queued messages']
      : box.length > 800 || boxLines.length > 4
        ? [`[Pasted text #1 +${boxLines.length - 1} lines]`]
        : boxLines;
  const room = Math.max(0, (process.stdout.rows || 50) - 10 - shown.length);
  const lines = [
    `╭─── Claude Code v${VERSION} ───╮`,
    `│ ${name || 'stand-in'} · ${cwd.slice(-60)} │`,
    `╰${'─'.repeat(Math.min(w - 2, 40))}╯`,
    ...history.slice(-room),
    '',
  ];
  if (busy) lines.push('✶ Pondering… (stand-in)', '');
  lines.push('─'.repeat(Math.max(10, w - label.length)) + label);
  lines.push(`❯${NBSP}${shown[0]}`, ...shown.slice(1).map((l) => `  ${l}`));
  lines.push('─'.repeat(w));
  lines.push(busy ? '  esc to interrupt · ← for agents' : escArmed ? '  Esc again to clear' : '  ? for shortcuts · ← for agents');
  // Home, each line erased to its end, then everything below erased: redrawn in place, so
  // nothing scrolls into the terminal's history.
  write(`\x1b[H${lines.map((l) => `${l.slice(0, w)}\x1b[K`).join('\r\n')}\x1b[J`);
}

function write(s) {
  try {
    process.stdout.write(s);
  } catch {
    /* the terminal is gone */
  }
}
process.stdout.on('error', () => {});

// ---- turns ----------------------------------------------------------------------------------

async function submit(prompt) {
  if (prompt.trim() === '/exit') return exit('prompt_input_exit');
  busy = true;
  const myTurn = ++turn;
  currentPrompt = prompt;
  history.push(`❯ ${prompt.split('\n')[0].slice(0, 100)}`);
  draw();
  await fireHook('UserPromptSubmit', { prompt });
  appendTranscript({ type: 'user', message: { role: 'user', content: prompt }, promptSource: 'typed', origin: { kind: 'human' } });
  await new Promise((r) => {
    turnEnd = r;
    turnTimer = setTimeout(r, TURN_MS);
  });
  if (!busy || turn !== myTurn) return; // interrupted: Claude Code fires no hook
  const reply = `Stand-in reply ${myTurn}: received ${prompt.length} characters.`;
  const msgId = `msg_standin_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  appendTranscript({
    type: 'assistant',
    requestId: `req_standin_${myTurn}`,
    message: {
      id: msgId,
      type: 'message',
      role: 'assistant',
      model: args.model ?? 'claude-stand-in',
      content: [{ type: 'text', text: reply }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 10 + Math.ceil(prompt.length / 4), output_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    },
  });
  history.push(`● ${reply}`);
  await fireHook('Stop', { stop_hook_active: false, last_assistant_message: reply });
  busy = false;
  draw();
  if (queue.length) void submit(queue.shift());
}

let ended = false;
async function exit(reason) {
  if (ended) return;
  ended = true;
  clearTimeout(turnTimer);
  await fireHook('SessionEnd', { reason }, reason);
  write('\x1b[?2004l\r\n\r\nResume this session with:\r\nclaude --resume ' + (name ? `"${name}"` : args.sessionId) + '\r\n');
  exiting = true;
  process.exit(0);
}

// ---- input ------------------------------------------------------------------------------------

const PASTE_START = '\x1b[200~';
const PASTE_END = '\x1b[201~';
let pending = '';
let pasting = false;
let escTimer = null;

function onKeyEscape() {
  if (busy) {
    // Interrupt: no hook; the turn ends and its prompt goes back into the box.
    busy = false;
    clearTimeout(turnTimer);
    turnEnd();
    box = currentPrompt + box;
    history.push('  ⎿  Interrupted · What should Claude do instead?');
  } else if (box) {
    if (escArmed) {
      box = '';
      escArmed = false;
    } else {
      escArmed = true;
    }
  }
  draw();
}

function onText(text) {
  escArmed = false;
  box += text.replace(/\r\n?/g, '\n').replace(/\t/g, '    ');
}

function onEnter() {
  escArmed = false;
  const prompt = box.replace(/\s+$/u, '');
  if (!prompt) return draw();
  box = '';
  if (busy) queue.push(prompt);
  else void submit(prompt);
  draw();
}

function feed(chunk) {
  pending += chunk;
  clearTimeout(escTimer);
  while (pending) {
    if (pasting) {
      const end = pending.indexOf(PASTE_END);
      if (end < 0) {
        // keep a possible partial end marker for the next chunk
        const keep = pending.lastIndexOf('\x1b');
        const upTo = keep >= 0 && PASTE_END.startsWith(pending.slice(keep)) ? keep : pending.length;
        onText(pending.slice(0, upTo));
        pending = pending.slice(upTo);
        break;
      }
      onText(pending.slice(0, end));
      pending = pending.slice(end + PASTE_END.length);
      pasting = false;
      draw();
      continue;
    }
    const c = pending[0];
    if (c === '\x1b') {
      if (pending.startsWith(PASTE_START)) {
        pasting = true;
        pending = pending.slice(PASTE_START.length);
        continue;
      }
      if (pending.length === 1 || (pending[1] === '[' && !/[\x40-\x7e]/.test(pending.slice(2)))) {
        // A lone ESC, or the start of a sequence split across reads: decide shortly.
        escTimer = setTimeout(() => {
          if (pending === '\x1b') {
            pending = '';
            onKeyEscape();
          }
        }, 30);
        break;
      }
      if (pending[1] === '[') {
        const m = /^\x1b\[[0-9;?]*[\x40-\x7e]/.exec(pending);
        pending = pending.slice(m ? m[0].length : 2); // other CSI keys (arrows…) are ignored
        continue;
      }
      pending = pending.slice(1);
      onKeyEscape();
      continue;
    }
    pending = pending.slice(1);
    if (c === '\r') onEnter();
    else if (c === '\x7f' || c === '\b') {
      box = box.slice(0, -1);
      draw();
    } else if (c === '\x03') {
      box = '';
      draw();
    } else if (c === '\x15') {
      box = box.slice(0, box.lastIndexOf('\n') + 1);
      draw();
    } else if (c >= ' ' || c === '\n' || c === '\t') {
      onText(c);
      draw();
    }
  }
}

// ---- start ------------------------------------------------------------------------------------

process.on('SIGHUP', () => void exit('other'));
process.on('SIGTERM', () => void exit('other'));
process.stdout.on('resize', draw);

async function start() {
  if (START_MS > 0) await new Promise((r) => setTimeout(r, START_MS));
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', feed);
  process.stdin.on('end', () => void exit('other'));
  write('\x1b[?2004h');
  if (args.resuming) history.push(`  (resumed conversation ${args.sessionId})`);
  draw();
  await fireHook('SessionStart', { source: args.resuming ? 'resume' : 'startup' }, args.resuming ? 'resume' : 'startup');
  if (process.env.STAND_IN_LOG) {
    try {
      appendFileSync(
        process.env.STAND_IN_LOG,
        `${JSON.stringify({ pid: process.pid, session_id: args.sessionId, name, resume: args.resuming, started: performance.timeOrigin, ready: performance.timeOrigin + performance.now() })}\n`,
      );
    } catch {
      /* best effort */
    }
  }
}
void start();
