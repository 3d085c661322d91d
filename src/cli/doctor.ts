import { execFile } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { packageRoot, packagedClaude, type Config } from '../config.js';
import { keyIdOf } from '../store/crypto-codec.js';
import { openKeys, StateKeyError } from '../store/keys.js';
import { hasEncryptedState, openStateStore } from '../store/state-store.js';
import { findOnPath } from '../util/find-on-path.js';
import { checkClaudeFirstRun } from './doctor-claude-config.js';
import { isVerifiedClaudeVersion, parseClaudeVersion, VERIFIED_CLAUDE_CODE_VERSIONS } from '../claude/versions.js';
import { mayTighten, type PrivateDir } from './private-dirs.js';
import { printJson, printTable } from './table.js';
import { checkSandbox } from './doctor-sandbox.js';
import type { Check, CheckStatus } from './doctor-check.js';

export type { Check, CheckStatus } from './doctor-check.js';

/** Every flag src/claude/launch.ts passes to Claude Code: a Claude Code without one cannot run an agent. */
export const CLAUDE_FLAGS = ['--session-id', '--resume', '--name', '--append-system-prompt', '--settings', '--model', '--permission-mode'] as const;

const MIN_NODE_MAJOR = 20;
/** What Claude Code's npm package declares (engines.node); tabcrew itself needs only MIN_NODE_MAJOR. */
const CLAUDE_NODE_MAJOR = 22;
const TMUX_TESTED = '3.3a';
const ITERM_BUNDLE_ID = 'com.googlecode.iterm2';
const CLAUDE_INSTALL = 'npm install -g @anthropic-ai/claude-code';

// A native Claude Code answers --help in well under a second; an npm-shim one on a cold
// disk takes a few. osascript can wait on a macOS permission dialog: give a person time.
const CLAUDE_TIMEOUT_MS = 30_000;
const TMUX_TIMEOUT_MS = 10_000;
const OSASCRIPT_TIMEOUT_MS = 60_000;

interface RunResult {
  ok: boolean;
  stdout: string;
  stderr: string;
  /** Why it failed, in words. */
  error?: string;
}

/** Runs a program without a shell, with a bound on time and output; never throws. */
function run(file: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const child = execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolveRun({ ok: true, stdout, stderr });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number; signal?: string };
      let error: string;
      if (e.code === 'ENOENT') error = `${file} was not found`;
      else if (e.code === 'EACCES') error = `${file} is not executable`;
      else if (e.killed && e.signal) error = `no answer within ${Math.round(timeoutMs / 1000)} s`;
      else
        error = `exited with ${typeof e.code === 'number' ? `status ${e.code}` : (e.signal ?? e.code ?? 'an error')}${firstLine(stderr) ? `: ${firstLine(stderr)}` : ''}`;
      resolveRun({ ok: false, stdout, stderr, error });
    });
    // Claude Code reads a prompt from a piped stdin: an open pipe must not look like one.
    child.stdin?.end();
  });
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.trim() ?? '';
}

export function checkNode(version = process.versions.node): Check {
  const major = Number(version.split('.')[0]);
  if (major >= CLAUDE_NODE_MAJOR) return { check: 'node', status: 'ok', detail: `v${version} (${process.execPath})` };
  return major >= MIN_NODE_MAJOR
    ? {
        check: 'node',
        status: 'ok',
        detail:
          `v${version} (${process.execPath}): supported, and what the test suite runs on. ` +
          `Claude Code's npm package declares Node ${CLAUDE_NODE_MAJOR}+ (npm install warns EBADENGINE), but the native binary it installs does not use Node, so it runs here too`,
      }
    : {
        check: 'node',
        status: 'fail',
        detail: `v${version} is too old: tabcrew needs Node.js ${MIN_NODE_MAJOR} or later (${CLAUDE_NODE_MAJOR} is what Claude Code's npm package asks for)`,
        fix: `install Node.js ${MIN_NODE_MAJOR}+ (https://nodejs.org, or nvm install ${MIN_NODE_MAJOR}), then reinstall tabcrew with it`,
      };
}

function tmuxInstallHint(): string {
  return process.platform === 'darwin' ? 'brew install tmux' : 'install tmux with your package manager (apt install tmux, dnf install tmux)';
}

async function checkTmux(config: Config): Promise<Check[]> {
  if (config.backend === 'iterm2' || config.backend === 'pty') {
    return [{ check: 'tmux', status: 'n/a', detail: `not used with --backend ${config.backend}` }];
  }
  const path = findOnPath('tmux');
  if (!path) {
    return [
      {
        check: 'tmux',
        status: 'fail',
        detail: 'tmux is not on PATH: agents run in tmux windows',
        fix: `${tmuxInstallHint()}; from Claude Desktop, also put its directory in the server's PATH (tabcrew config claude-desktop)`,
      },
    ];
  }
  const v = await run(path, ['-V'], TMUX_TIMEOUT_MS);
  if (!v.ok) {
    return [{ check: 'tmux', status: 'fail', detail: `${path} -V failed: ${v.error}`, fix: `reinstall tmux (${tmuxInstallHint()})` }];
  }
  const version = firstLine(v.stdout);
  const major = Number(/(\d+)\./.exec(version)?.[1] ?? NaN);
  const checks: Check[] = [
    major < 3
      ? {
          check: 'tmux',
          status: 'warn',
          detail: `${version} (${path}); tabcrew is tested with tmux ${TMUX_TESTED}, older ones may lack formats it reads`,
          fix: `upgrade tmux (${tmuxInstallHint()})`,
        }
      : { check: 'tmux', status: 'ok', detail: `${version} (${path})` },
  ];
  // list-sessions never starts a server, so looking is free of side effects.
  const s = await run(path, ['-L', config.tmuxSocket, 'list-sessions', '-F', '#{session_windows}'], TMUX_TIMEOUT_MS);
  if (s.ok) {
    const windows = s.stdout
      .split('\n')
      .filter(Boolean)
      .reduce((n, w) => n + Number(w), 0);
    checks.push({
      check: 'tmux server',
      status: 'ok',
      detail: `socket "${config.tmuxSocket}" running, ${windows} windows (tmux -L ${config.tmuxSocket} attach)`,
    });
  } else if (/no server running|error connecting to .*No such file/.test(s.stderr)) {
    checks.push({ check: 'tmux server', status: 'ok', detail: `socket "${config.tmuxSocket}" not running; it starts with the first agent` });
  } else {
    checks.push({
      check: 'tmux server',
      status: 'warn',
      detail: `socket "${config.tmuxSocket}" cannot be reached: ${s.error}`,
      fix: `another user may own it: pick another name with --tmux-socket, or remove the stale socket in ${process.env.TMUX_TMPDIR ?? '/tmp'}/tmux-${process.getuid?.() ?? 'UID'}/`,
    });
  }
  return checks;
}

async function checkITerm(config: Config): Promise<Check[]> {
  if (process.platform !== 'darwin') return [{ check: 'iTerm2', status: 'n/a', detail: 'macOS only' }];
  // Only --backend iterm2 cannot work without it; under tmux it is an option, not a need.
  const missing: CheckStatus = config.backend === 'iterm2' ? 'fail' : 'warn';
  const app = ['/Applications/iTerm.app', join(homedir(), 'Applications/iTerm.app')].find((p) => existsSync(p));
  if (!app) {
    return [
      {
        check: 'iTerm2',
        status: missing,
        detail: 'iTerm2 is not installed (looked in /Applications and ~/Applications)',
        fix: 'install it from https://iterm2.com (or brew install --cask iterm2), or use --backend tmux',
      },
    ];
  }
  const checks: Check[] = [{ check: 'iTerm2', status: 'ok', detail: app }];
  // Asking a closed iTerm2 anything would launch it: only a running one is asked.
  const running = await run('osascript', ['-e', `application id "${ITERM_BUNDLE_ID}" is running`], OSASCRIPT_TIMEOUT_MS);
  if (!running.ok) {
    checks.push({
      check: 'iTerm2 automation',
      status: missing,
      detail: `osascript failed: ${running.error}`,
      fix: 'run tabcrew doctor from a macOS user session (not over ssh)',
    });
  } else if (running.stdout.trim() !== 'true') {
    checks.push({
      check: 'iTerm2 automation',
      status: 'skipped',
      detail: 'iTerm2 is not running, and asking it would start it',
      fix: 'start iTerm2 and run tabcrew doctor again',
    });
  } else {
    const v = await run('osascript', ['-e', `tell application id "${ITERM_BUNDLE_ID}" to get version`], OSASCRIPT_TIMEOUT_MS);
    const where = 'System Settings > Privacy & Security > Automation';
    if (v.ok) {
      checks.push({
        check: 'iTerm2 automation',
        status: 'ok',
        detail: `allowed for the app running this command (iTerm2 ${firstLine(v.stdout)}); Claude Desktop asks for its own permission on first use`,
      });
    } else if (/-1743|not authori[sz]ed/i.test(v.stderr)) {
      checks.push({
        check: 'iTerm2 automation',
        status: missing,
        detail: 'macOS does not allow this app to control iTerm2',
        fix: `${where}: allow it to control iTerm2 (or tccutil reset AppleEvents, then run tabcrew doctor again and accept the prompt)`,
      });
    } else {
      checks.push({
        check: 'iTerm2 automation',
        status: missing,
        detail: `asking iTerm2 for its version failed: ${v.error}`,
        fix: `answer the permission prompt if macOS shows one, or check ${where}; then run tabcrew doctor again`,
      });
    }
  }
  return checks;
}

/** Whether tabcrew's e2e scenario was verified on the installed Claude Code (a warning when not: it may still work). */
export function checkClaudeVerified(versionOutput: string): Check {
  const version = parseClaudeVersion(versionOutput);
  const verified = VERIFIED_CLAUDE_CODE_VERSIONS.join(', ');
  if (version && isVerifiedClaudeVersion(version)) {
    return { check: 'claude version', status: 'ok', detail: `${version} is verified with tabcrew (verified: ${verified})` };
  }
  const newest = VERIFIED_CLAUDE_CODE_VERSIONS[VERIFIED_CLAUDE_CODE_VERSIONS.length - 1];
  return {
    check: 'claude version',
    status: 'warn',
    detail: `${version ?? `"${firstLine(versionOutput)}"`} is not among the versions tabcrew was verified with (${verified}); its screens or dialogs may differ`,
    fix: `it may well work; if agents do not start or their status looks wrong, install a verified one (npm install -g @anthropic-ai/claude-code@${newest}) and report the version`,
  };
}

/** Where an exec of `claudePath` would land, the way the agents' launcher resolves it. */
export function resolveClaude(claudePath: string): string | undefined {
  return claudePath.includes('/') ? findOnPath(isAbsolute(claudePath) ? claudePath : resolve(claudePath)) : findOnPath(claudePath);
}

async function checkClaude(config: Config): Promise<Check[]> {
  const path = resolveClaude(config.claudePath);
  if (!path) return [claudeNotFound(config), { check: 'claude flags', status: 'skipped', detail: 'no claude to ask' }];
  const checks: Check[] = [];
  const v = await run(path, ['--version'], CLAUDE_TIMEOUT_MS);
  checks.push(
    v.ok
      ? { check: 'claude', status: 'ok', detail: `${firstLine(v.stdout)} (${path}${claudeOrigin(config)})` }
      : { check: 'claude', status: 'fail', detail: `${path} --version failed: ${v.error}`, fix: claudeBrokenFix(config) },
  );
  if (v.ok) checks.push(checkClaudeVerified(v.stdout));
  const h = await run(path, ['--help'], CLAUDE_TIMEOUT_MS);
  if (!h.ok) {
    checks.push({ check: 'claude flags', status: 'fail', detail: `${path} --help failed: ${h.error}`, fix: `reinstall Claude Code (${CLAUDE_INSTALL})` });
    return checks;
  }
  const missing = CLAUDE_FLAGS.filter((flag) => !listsFlag(h.stdout, flag));
  checks.push(
    missing.length
      ? {
          check: 'claude flags',
          status: 'fail',
          detail: `claude --help does not list ${missing.join(', ')}, which tabcrew passes to every agent`,
          fix: `update Claude Code (${CLAUDE_INSTALL}@latest)`,
        }
      : { check: 'claude flags', status: 'ok', detail: `accepts ${CLAUDE_FLAGS.join(' ')}` },
  );
  return checks;
}

/** Where the Claude Code came from, when it is not the obvious place: said so a person knows which one agents run. */
function claudeOrigin(config: Config): string {
  return config.claudeFromPackage ? "; no claude on PATH, so this checkout's own, from npm install" : '';
}

/** Every way to give tabcrew a Claude Code, with the exact flag and variable. */
function claudeNotFound(config: Config): Check {
  const packaged = packagedClaude();
  const where = config.claudePath.includes('/')
    ? `${config.claudePath} is not an executable file`
    : `"${config.claudePath}" is not on PATH${config.claudePath === 'claude' ? `, nor is ${packaged} there` : ''}`;
  return {
    check: 'claude',
    status: 'fail',
    detail: `Claude Code was not found: ${where}`,
    fix:
      `${CLAUDE_INSTALL}, or run npm install in ${packageRoot()} (it brings Claude Code as a dev dependency), ` +
      `or point at one with --claude-path /path/to/claude (or TABCREW_CLAUDE_PATH=/path/to/claude)`,
  };
}

/** A Claude Code that is there but does not run: npm may have skipped the postinstall that puts the native binary in place. */
function claudeBrokenFix(config: Config): string {
  if (config.claudePath === packagedClaude()) {
    return `npm skipped Claude Code's postinstall: run node ${join(packageRoot(), 'node_modules', '@anthropic-ai', 'claude-code', 'install.cjs')}, or pass --claude-path to a working one`;
  }
  return `reinstall Claude Code (${CLAUDE_INSTALL}) or pass --claude-path to a working one`;
}

/** True when help text lists `flag` as an option (`-r, --resume [value]`), not as part of a longer one. */
export function listsFlag(help: string, flag: string): boolean {
  const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[\\s,])${escaped}(?=$|[\\s,=<\\[])`, 'm').test(help);
}

async function checkDir(check: string, dir: string, flag: string): Promise<Check> {
  const elsewhere = `or choose another directory with ${flag}`;
  let st;
  try {
    st = await stat(dir);
  } catch {
    // Not there yet: tabcrew creates it, so the nearest existing parent must be writable.
    let parent = dirname(dir);
    while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
    try {
      await access(parent, constants.W_OK | constants.X_OK);
      return { check, status: 'ok', detail: `${dir} (created at first use)` };
    } catch {
      return { check, status: 'fail', detail: `${dir} does not exist and ${parent} is not writable`, fix: `create it (mkdir -p -m 700 ${dir}) ${elsewhere}` };
    }
  }
  if (!st.isDirectory()) return { check, status: 'fail', detail: `${dir} is not a directory`, fix: `move that file away ${elsewhere}` };
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch {
    return { check, status: 'fail', detail: `${dir} is not writable by this user`, fix: `chmod u+rwx ${dir} ${elsewhere}` };
  }
  if (process.platform !== 'win32' && st.mode & 0o077) {
    if (mayTighten(check as PrivateDir, dir))
      return { check, status: 'ok', detail: `${dir} (writable; mode ${(st.mode & 0o777).toString(8)}, made 0700 when tabcrew starts)` };
    return {
      check,
      status: 'warn',
      detail: `${dir} is open to other users (mode ${(st.mode & 0o777).toString(8)})`,
      fix: `chmod 700 ${dir}`,
    };
  }
  return { check, status: 'ok', detail: `${dir} (writable)` };
}

/** The state key: where it comes from, and whether it opens the current state. */
async function checkStateKey(config: Config): Promise<Check[]> {
  const check = 'state key';
  // Opening a state that does not exist yet would create a key: doctor only looks.
  // A state dir that cannot be read is the state dir check's to report; the key is still looked for.
  if (!(await hasEncryptedState(config.stateDir).catch(() => false))) return [await checkKeyWithoutState(config)];
  try {
    const store = await openStateStore({ dir: config.stateDir, keySource: config.keySource, keyFile: config.keyFile });
    await store.read();
    return [{ check, status: 'ok', detail: `source ${config.keySource}; the state in ${config.stateDir} opens` }];
  } catch (e) {
    return [
      {
        check,
        status: 'fail',
        detail: (e as Error).message.split('\n')[0],
        fix: 'give the key the state was written with (--key-source, --key-file or TABCREW_STATE_KEY); see docs/state.md',
      },
    ];
  }
}

/**
 * Before the first start: whether a key is already there (env, Keychain, key file, found the
 * way `serve` will find it), never making one. A key that is there must be called found.
 */
async function checkKeyWithoutState(config: Config): Promise<Check> {
  const check = 'state key';
  try {
    const keys = await openKeys({ keySource: config.keySource, keyFile: config.keyFile, stateDir: config.stateDir, mayCreate: false });
    return {
      check,
      status: 'ok',
      detail: `found in ${keys.store.where} (key id ${keyIdOf(keys.current)}); no state yet in ${config.stateDir}, the first start uses this key`,
    };
  } catch (e) {
    const message = (e as Error).message.split('\n')[0];
    if (e instanceof StateKeyError && / holds no key/.test(message)) {
      return {
        check,
        status: 'ok',
        detail: `no key and no state yet in ${config.stateDir}; the first start makes a key (--key-source ${config.keySource}, see docs/state.md)`,
      };
    }
    return {
      check,
      status: 'fail',
      detail: message,
      fix: 'the first start would stop here: fix the key as the message says (--key-source, --key-file or TABCREW_STATE_KEY; docs/state.md)',
    };
  }
}

export async function runChecks(config: Config): Promise<Check[]> {
  // Independent of each other: run side by side so a slow osascript does not add up.
  const [tmux, iterm, claude, firstRun, dirs, key] = await Promise.all([
    checkTmux(config),
    checkITerm(config),
    checkClaude(config),
    checkClaudeFirstRun(process.env),
    Promise.all([
      checkDir('state dir', config.stateDir, '--state-dir'),
      checkDir('log dir', config.logDir, '--log-dir'),
      checkDir('runtime dir', config.runtimeDir, '--runtime-dir'),
    ]),
    checkStateKey(config),
  ]);
  return [checkNode(), ...tmux, ...iterm, ...claude, ...firstRun, ...checkSandbox(config), ...dirs, ...key];
}

/** `tabcrew doctor`: exits 1 when any check fails; warnings alone do not fail it. */
export async function doctorCommand(config: Config, opts: { json: boolean }): Promise<number> {
  const checks = await runChecks(config);
  const ok = !checks.some((c) => c.status === 'fail');
  if (opts.json) {
    printJson({ ok, checks });
  } else {
    printTable(
      ['CHECK', 'STATUS', 'DETAIL/FIX'],
      checks.flatMap((c) => [[c.check, c.status === 'fail' ? 'FAIL' : c.status, c.detail], ...(c.fix && c.status !== 'ok' ? [['', '', `fix: ${c.fix}`]] : [])]),
    );
    process.stdout.write(ok ? 'all checks passed\n' : 'some checks failed: see the fixes above\n');
  }
  return ok ? 0 : 1;
}
