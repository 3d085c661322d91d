import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';

/**
 * Which paths a Claude Code tool call names, and whether one lies in another tabcrew
 * session's root. The PreToolUse hook (src/hook.ts) runs this for every tool call of an
 * agent, so it uses node:fs and node:path only.
 */

/** What the supervisor writes to `<runtimeDir>/shared/boundaries.json` (see supervisor/boundaries.ts). */
export interface BoundariesFile {
  version: 1;
  /** Every session tabcrew has, with its root (a realpath). */
  sessions: { id: string; name: string; root: string }[];
  /**
   * tabcrew's own state, log and runtime dirs: an agent that could write this file, its
   * spool or the audit log would undo the boundary or the record of what it did.
   */
  protected?: string[];
}

/** In the runtime dir's folder that agents' sandboxes show (agent-mcp-config.ts: sharedRuntimeDir). */
export const BOUNDARIES_FILE = 'shared/boundaries.json';

export interface PathContext {
  /** The tool call's working directory (the hook input's `cwd`). */
  cwd: string;
  home: string;
  /** Injected for tests; realpathSync.native by default. */
  realpath?: (p: string) => string;
}

export interface Denial {
  /** The path as the tool call wrote it. */
  path: string;
  session: Other;
  /** `inside`: the path is in the root; `above`: a recursive search from it would descend into the root. */
  how: 'inside' | 'above';
}

const caseInsensitive = process.platform === 'darwin' || process.platform === 'win32';
const fold = (p: string): string => (caseInsensitive ? p.toLowerCase() : p);

/** `inner` is `outer` or lies below it (both absolute and normalised). */
export function within(outer: string, inner: string): boolean {
  const o = fold(outer.endsWith(sep) ? outer.slice(0, -1) : outer);
  const i = fold(inner);
  return i === o || i.startsWith(o + sep) || o === '';
}

/** `~`, `~/x`, relative and `..` forms made absolute, the way Claude Code resolves them. */
export function expandPath(p: string, ctx: PathContext): string {
  let s = p;
  if (s === '~' || s.startsWith('~/')) s = ctx.home + s.slice(1);
  return resolve(ctx.cwd, s);
}

/**
 * The path with every symlink resolved as the kernel would (left to right, `..` applied to
 * the resolved directory), for the longest prefix that exists; the rest is appended as
 * written. A path to a file not yet created (Write) is judged by the directory it would be in.
 */
export function physicalPath(abs: string, realpath: (p: string) => string = realpathSync.native): string {
  const parts = abs.split(sep).filter((c) => c !== '' && c !== '.');
  let current = realpathOr(sep, realpath);
  for (let i = 0; i < parts.length; i++) {
    const c = parts[i];
    if (c === '..') {
      current = dirname(current);
      continue;
    }
    const next = join(current, c);
    try {
      current = realpath(next);
    } catch {
      return resolve(next, ...parts.slice(i + 1));
    }
  }
  return current;
}

function realpathOr(p: string, realpath: (p: string) => string): string {
  try {
    return realpath(p);
  } catch {
    return p;
  }
}

/** Every absolute form a path may take: as resolved by the tool (lexically) and by the kernel. */
export function candidates(p: string, ctx: PathContext): string[] {
  const realpath = ctx.realpath ?? realpathSync.native;
  const lexical = expandPath(p, ctx);
  const set = new Set([lexical, physicalPath(lexical, realpath)]);
  // A relative path or `~` written into a command is resolved by the kernel from the raw text too.
  const raw = p === '~' || p.startsWith('~/') ? ctx.home + p.slice(1) : isAbsolute(p) ? p : join(ctx.cwd, p);
  set.add(physicalPath(raw, realpath));
  return [...set];
}

const GLOB_CHARS = /[*?[\]{}]/;

/** The directories before the first glob character of a pattern (`/a/b/*.ts` → `/a/b`). */
export function globBase(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const part of parts) {
    if (GLOB_CHARS.test(part)) break;
    fixed.push(part);
  }
  if (fixed.length === parts.length) fixed.pop(); // no glob: the last part names files
  return fixed.join('/') || (pattern.startsWith('/') ? '/' : '.');
}

/** A place the agent must stay out of: another session's root, or one of tabcrew's own files (`own`). */
type Other = BoundariesFile['sessions'][number] & { own?: true };

/** One path component of a glob as a regular expression (`*`, `?`, `[…]`, `{a,b}`). */
function componentRegex(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '[' && glob.indexOf(']', i + 2) !== -1) {
      const end = glob.indexOf(']', i + 2);
      const body = glob
        .slice(i + 1, end)
        .replace(/^!/, '^')
        .replace(/\\/g, '\\\\');
      re += `[${body}]`;
      i = end;
    } else if (ch === '{' && glob.indexOf('}', i) !== -1) {
      const end = glob.indexOf('}', i);
      re += `(?:${glob
        .slice(i + 1, end)
        .split(',')
        .map((a) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|')})`;
      i = end;
    } else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, caseInsensitive ? 'i' : '');
}

/** Whether an absolute glob pattern can match the root or a path inside it. */
export function globCouldEnter(pattern: string, root: string): boolean {
  const pat = pattern.split(sep).filter(Boolean);
  const dirs = root.split(sep).filter(Boolean);
  for (let i = 0; i < dirs.length; i++) {
    const p = pat[i];
    if (p === undefined) return false;
    if (p.includes('**')) return true;
    if (fold(p) !== fold(dirs[i]) && !componentRegex(p).test(dirs[i])) return false;
  }
  return true;
}

function checkGlob(pattern: string, ctx: PathContext, others: readonly Other[]): Denial | undefined {
  const direct = check(globBase(pattern), ctx, others, false) ?? check(pattern, ctx, others, false);
  if (direct) return { ...direct, path: pattern };
  const abs = expandPath(pattern, ctx);
  const session = others.find((o) => globCouldEnter(abs, o.root));
  return session ? { path: pattern, session, how: 'inside' } : undefined;
}

function check(path: string, ctx: PathContext, others: readonly Other[], recursive: boolean): Denial | undefined {
  const forms = candidates(path, ctx);
  for (const session of others) {
    if (forms.some((f) => within(session.root, f))) return { path, session, how: 'inside' };
    if (recursive && forms.some((f) => within(f, session.root))) return { path, session, how: 'above' };
  }
  return undefined;
}

/** Words of a shell command, quotes removed; operators and redirections split off. Best effort. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let cur = '';
  let has = false;
  const push = (): void => {
    if (has) words.push(cur);
    cur = '';
    has = false;
  };
  for (let i = 0; i < command.length; i++) {
    const ch = command[i];
    if (ch === "'") {
      const end = command.indexOf("'", i + 1);
      const stop = end === -1 ? command.length : end;
      cur += command.slice(i + 1, stop);
      has = true;
      i = stop;
    } else if (ch === '"') {
      i++;
      for (; i < command.length && command[i] !== '"'; i++) {
        if (command[i] === '\\' && i + 1 < command.length) i++;
        cur += command[i];
      }
      has = true;
    } else if (ch === '\\' && i + 1 < command.length) {
      cur += command[++i];
      has = true;
    } else if (/\s/.test(ch) || ';|&()<>`'.includes(ch)) {
      push();
    } else if (ch === '=' && !cur.includes('/')) {
      // VAR=/path and --flag=/path: the value is a word of its own.
      push();
    } else {
      cur += ch;
      has = true;
    }
  }
  push();
  return words;
}

/** A word that may name a file: absolute, `~`, or with a slash or a leading dot. */
function pathLike(word: string): boolean {
  return word.startsWith('/') || word === '~' || word.startsWith('~/') || word.startsWith('.') || word.includes('/');
}

/** Commands that descend into a directory given to them. */
const RECURSIVE = /^(find|rg|grep|egrep|fgrep|ag|ack|tree|du|tar|zip|rsync)$/;

/**
 * The first path in another session's root that a tool call names, or undefined.
 * Covers Claude Code's file tools and, best effort, shell commands (see docs/security.md).
 */
export function deniedPath(toolName: string, input: Record<string, unknown>, ctx: PathContext, others: readonly Other[]): Denial | undefined {
  if (!others.length) return undefined;
  const str = (k: string): string | undefined => (typeof input[k] === 'string' && input[k] ? (input[k] as string) : undefined);
  const toolCwd = (): PathContext => {
    const p = str('path');
    return p ? { ...ctx, cwd: expandPath(p, ctx) } : ctx;
  };
  switch (toolName) {
    case 'Read':
    case 'Edit':
    case 'Write':
    case 'MultiEdit':
      return str('file_path') ? check(str('file_path')!, ctx, others, false) : undefined;
    case 'NotebookEdit':
      return str('notebook_path') ? check(str('notebook_path')!, ctx, others, false) : undefined;
    case 'LS':
      return str('path') ? check(str('path')!, ctx, others, false) : undefined;
    case 'Glob':
    case 'Grep': {
      // A search from a directory above another root descends into it.
      const dir = str('path');
      const denied = dir ? check(dir, ctx, others, true) : undefined;
      if (denied) return denied;
      const pattern = toolName === 'Glob' ? str('pattern') : str('glob');
      if (!pattern) return undefined;
      return checkGlob(pattern, toolCwd(), others);
    }
    case 'Bash':
    case 'PowerShell':
    case 'Monitor':
      return str('command') ? deniedInCommand(str('command')!, ctx, others) : undefined;
    default:
      return undefined;
  }
}

/** The tools whose paths deniedPath understands; when the boundaries are unknown they are refused. */
export const PATH_TOOLS = new Set(['Read', 'Edit', 'Write', 'MultiEdit', 'NotebookEdit', 'LS', 'Glob', 'Grep', 'Bash', 'PowerShell', 'Monitor']);

/** Best effort for a shell command: each path-like word, then each root as plain text. */
export function deniedInCommand(command: string, ctx: PathContext, others: readonly Other[]): Denial | undefined {
  const words = shellWords(command);
  const recursive = words.some((w) => RECURSIVE.test(w.split('/').pop() ?? ''));
  for (const word of words) {
    if (!pathLike(word)) continue;
    const denied = GLOB_CHARS.test(word)
      ? (checkGlob(word, ctx, others) ?? check(globBase(word), ctx, others, recursive))
      : check(word, ctx, others, recursive);
    if (denied) return { ...denied, path: word };
  }
  // The root as text, ending where a path component ends: `/w/app` is not found in `/w/app-2`.
  for (const session of others) {
    const text = new RegExp(`${session.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[/\\s'"\`;|&()<>])`, caseInsensitive ? 'i' : '');
    if (text.test(command)) return { path: session.root, session, how: 'inside' };
  }
  return undefined;
}

/** What the model reads when a call is refused. */
export function denialReason(d: Denial): string {
  if (d.session.own) {
    return `tabcrew: ${d.path} is one of tabcrew's own files (${d.session.root}: its state, logs, runtime files or hook), which agents may not read or change.`;
  }
  const where =
    d.how === 'inside'
      ? `${d.path} lies in the root of tabcrew session "${d.session.name}" (${d.session.root})`
      : `a recursive search from ${d.path} would descend into the root of tabcrew session "${d.session.name}" (${d.session.root})`;
  return `tabcrew: ${where}, which belongs to another session: agents may not read or change other sessions' files. Work inside your own session's root; ask the supervisor if you need something from that session.`;
}

/**
 * The PreToolUse verdict for an agent of session `session`: a reason to deny, or undefined.
 * An unreadable boundaries file refuses every path-naming tool: tabcrew cannot tell which
 * roots are off limits, and letting the call through would fail open.
 */
export function boundaryVerdict(
  input: Record<string, unknown>,
  opts: {
    session: string;
    boundariesFile: string;
    home: string;
    read: (file: string) => string;
    protect?: string[];
    /** Where a call without an absolute `cwd` runs; default this process's (the hook's, which is the agent's). */
    cwd?: string;
  },
): string | undefined {
  const tool = typeof input.tool_name === 'string' ? input.tool_name : '';
  const toolInput = input.tool_input && typeof input.tool_input === 'object' ? (input.tool_input as Record<string, unknown>) : {};
  let file: BoundariesFile;
  try {
    file = JSON.parse(opts.read(opts.boundariesFile)) as BoundariesFile;
    if (file.version !== 1 || !Array.isArray(file.sessions)) throw new Error(`unknown format (version ${String(file.version)})`);
  } catch (e) {
    if (!PATH_TOOLS.has(tool)) return undefined;
    return (
      `tabcrew: the session boundaries file ${opts.boundariesFile} could not be read (${(e as Error).message}), so tabcrew cannot tell which paths belong to other sessions and refuses ${tool}. ` +
      'Tell the supervisor: restarting tabcrew, or creating or deleting a session, writes the file again.'
    );
  }
  const others: Other[] = file.sessions.filter((s) => s.id !== opts.session && typeof s.root === 'string' && isAbsolute(s.root));
  for (const root of [dirname(opts.boundariesFile), ...(file.protected ?? []), ...(opts.protect ?? [])]) {
    if (typeof root === 'string' && isAbsolute(root)) others.push({ id: 'tabcrew', name: 'tabcrew', root, own: true });
  }
  const cwd = typeof input.cwd === 'string' && isAbsolute(input.cwd) ? input.cwd : (opts.cwd ?? process.cwd());
  const denied = deniedPath(tool, toolInput, { cwd, home: opts.home }, others);
  return denied ? denialReason(denied) : undefined;
}
