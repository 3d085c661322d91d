import { isDeepStrictEqual } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { packageRoot, type Config } from '../config.js';
import { findOnPath } from '../util/find-on-path.js';
import { chooseBackend } from '../terminals/index.js';
import { checkNode, resolveClaude } from './doctor.js';
import { printJson } from './table.js';

export const SERVER_NAME = 'tabcrew';

/** A failure the user must act on; the CLI prints the message and exits 1. */
export class ConfigFileError extends Error {}

export interface McpServerEntry {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** Claude Desktop's config file for this platform, under the current HOME. */
export function defaultDesktopConfigFile(platform: NodeJS.Platform = process.platform, home = homedir()): string {
  // XDG_CONFIG_HOME is not consulted: Claude Desktop builds read ~/.config/Claude.
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Claude', 'claude_desktop_config.json');
  if (platform === 'win32') return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Claude', 'claude_desktop_config.json');
  return join(home, '.config', 'Claude', 'claude_desktop_config.json');
}

/** The built CLI: what an MCP client must run, wherever this process was started from. */
export function cliPath(): string {
  return join(packageRoot(), 'dist', 'cli.js');
}

/**
 * Everything an MCP client needs to start `tabcrew serve` without a login shell: absolute
 * paths, and a PATH that finds node, claude and tmux, because Claude Desktop starts servers
 * with a bare environment and agents inherit the server's PATH.
 */
export function serverCommand(config: Config): { node: string; args: string[]; path: string; warnings: string[] } {
  const warnings: string[] = [];
  const node = process.execPath;
  const cli = cliPath();
  if (!existsSync(cli)) warnings.push(`${cli} does not exist yet: run npm run build in ${packageRoot()} before starting the client.`);
  const claude = resolveClaude(config.claudePath);
  if (!claude) {
    warnings.push(
      `Claude Code ("${config.claudePath}") was not found, so its directory is not in PATH: install it (npm install -g @anthropic-ai/claude-code) or pass --claude-path, then run this again.`,
    );
  }
  const tmux = findOnPath('tmux');
  if (!tmux && config.backend !== 'iterm2' && config.backend !== 'pty') {
    warnings.push('tmux was not found, so its directory is not in PATH: install tmux, then run this again.');
  }
  // The system directories keep the agents' own tools (git, sh, ...) reachable.
  const system =
    process.platform === 'darwin'
      ? ['/opt/homebrew/bin', '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']
      : ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  const dirs = [dirname(node), ...(claude ? [dirname(claude)] : []), ...(tmux ? [dirname(tmux)] : []), ...system];
  const path = [...new Set(dirs)].join(delimiter);
  // A claude found on PATH is found again through the PATH above; an explicit one must be passed on.
  // A missing one too, so an entry written with --force names what the person asked for.
  const args = [cli, 'serve', ...(config.claudePath.includes('/') ? ['--claude-path', claude ?? config.claudePath] : [])];
  return { node, args, path, warnings };
}

export function desktopEntry(config: Config): { entry: McpServerEntry; warnings: string[] } {
  const { node, args, path, warnings } = serverCommand(config);
  return { entry: { command: node, args, env: { PATH: path } }, warnings };
}

/** Quotes a word for a POSIX shell only when it needs it, so the common line stays readable. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_\-.,/:=@%+]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function claudeCodeLine(config: Config, scope: string): { line: string; warnings: string[] } {
  // Claude Code starts servers with the environment of the shell it runs in: no PATH needed.
  const { node, args, warnings } = serverCommand(config);
  const line = ['claude', 'mcp', 'add', '-s', scope, SERVER_NAME, '--', node, ...args].map(shellQuote).join(' ');
  return { line, warnings };
}

async function readIfExists(file: string): Promise<Buffer | null> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigFileError(`cannot read ${file}: ${(e as Error).message}. Check its permissions, or pass --config-file.`);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseConfig(file: string, bytes: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    // An editor may have left a byte-order mark; JSON.parse rejects it.
    parsed = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new ConfigFileError(`${file} is not valid JSON (${(e as Error).message}); it was left unchanged. Fix or move it away, then run this again.`);
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigFileError(`${file} does not hold a JSON object; it was left unchanged. Fix or move it away, then run this again.`);
  }
  if (parsed.mcpServers !== undefined && !isPlainObject(parsed.mcpServers)) {
    throw new ConfigFileError(`"mcpServers" in ${file} is not an object; it was left unchanged. Fix it, then run this again.`);
  }
  return parsed;
}

export interface MergeResult {
  file: string;
  changed: boolean;
  /** The copy of the previous file, when there was one and it changed. */
  backup?: string;
  /** The other servers, kept as they were. */
  kept: string[];
}

/**
 * Adds (or replaces) one server in a Claude Desktop config, keeping every other key and
 * server as they were. The old file is copied beside it first; the new one replaces it
 * atomically, so a crash leaves the old or the new file, never half of one.
 */
export async function mergeServer(file: string, name: string, entry: McpServerEntry): Promise<MergeResult> {
  // Claude Desktop rewrites this file itself: when it changes under us, start over from its new content.
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await readIfExists(file);
    const config = before ? parseConfig(file, before) : {};
    const servers = (config.mcpServers ?? {}) as Record<string, unknown>;
    const kept = Object.keys(servers).filter((k) => k !== name);
    if (isDeepStrictEqual(servers[name], entry)) return { file, changed: false, kept };
    const merged = { ...config, mcpServers: { ...servers, [name]: entry } };
    let backup: string | undefined;
    if (before) {
      backup = `${file}.${new Date().toISOString().replace(/[:.]/g, '-')}.bak`;
      try {
        // 0600: other servers' env entries often hold API keys.
        await writeFile(backup, before, { flag: 'wx', mode: 0o600 });
      } catch (e) {
        throw new ConfigFileError(`cannot write the backup ${backup}: ${(e as Error).message}. ${file} was left unchanged.`);
      }
    } else {
      await mkdir(dirname(file), { recursive: true });
    }
    const now = await readIfExists(file);
    if ((now === null) !== (before === null) || (now && before && !now.equals(before))) {
      if (backup) await unlink(backup).catch(() => undefined);
      continue;
    }
    try {
      await writeFileAtomic(file, JSON.stringify(merged, null, 2) + '\n', before ? {} : { mode: 0o600 });
    } catch (e) {
      throw new ConfigFileError(`cannot write ${file}: ${(e as Error).message}. It was left unchanged${backup ? `; a copy is in ${backup}` : ''}.`);
    }
    return { file, changed: true, backup, kept };
  }
  throw new ConfigFileError(`${file} kept changing while tabcrew was merging into it (is Claude Desktop writing it?). Quit Claude Desktop and run this again.`);
}

/**
 * What would stop the entry from launching agents once Claude Desktop runs it, checked on
 * the entry itself (its node, its CLI, its --claude-path or its PATH): each says what is
 * wrong and what to do. An empty list means agents can start.
 */
export function launchProblems(entry: McpServerEntry, config: Config, platform: NodeJS.Platform = process.platform): string[] {
  const problems: string[] = [];
  const path = entry.env.PATH ?? '';
  if (!isAbsolute(entry.command) || !findOnPath(entry.command)) {
    problems.push(`node ${entry.command} is not an executable file: run this command with the node Claude Desktop should use (an absolute path).`);
  } else if (checkNode().status === 'fail') {
    problems.push(`node ${entry.command} is v${process.versions.node}; tabcrew needs Node.js 20 or later: run this command with a newer node.`);
  }
  const cli = entry.args[0];
  if (!cli || !existsSync(cli)) problems.push(`${cli} does not exist: run npm run build in ${packageRoot()}, then run this again.`);
  const at = entry.args.indexOf('--claude-path');
  const claude = at >= 0 ? entry.args[at + 1] : 'claude';
  if (!findOnPath(claude, path)) {
    problems.push(
      at >= 0
        ? `Claude Code ${claude} is not an executable file: pass --claude-path /path/to/claude (or set TABCREW_CLAUDE_PATH), then run this again.`
        : `Claude Code is not on the entry's PATH (${path}): install it (npm install -g @anthropic-ai/claude-code, or npm install in ${packageRoot()}) or pass --claude-path /path/to/claude, then run this again.`,
    );
  }
  if (config.backend === 'tmux' && !findOnPath('tmux', path)) {
    problems.push(`tmux is not on the entry's PATH (${path}): install tmux, then run this again.`);
  } else if (config.backend === 'auto' && chooseBackend(config, platform, path) === 'pty') {
    problems.push(
      `neither tmux (on the entry's PATH: ${path}) nor iTerm2 was found, so agents would run in headless PTYs that end whenever Claude Desktop stops the server: ` +
        `install tmux${platform === 'darwin' ? ' (brew install tmux) or iTerm2' : ''}, then run this again.`,
    );
  }
  return problems;
}

function warn(warnings: string[]): void {
  for (const w of warnings) process.stderr.write(`tabcrew: warning: ${w}\n`);
}

/** `tabcrew config claude-desktop [--write [--force]] [--config-file PATH]`: --write refuses an entry that could not launch agents unless forced. */
export async function configClaudeDesktopCommand(
  config: Config,
  opts: { write: boolean; configFile?: string; json: boolean; force?: boolean },
): Promise<number> {
  const file = opts.configFile ?? defaultDesktopConfigFile();
  const { entry, warnings } = desktopEntry(config);
  const snippet = { mcpServers: { [SERVER_NAME]: entry } };
  if (!opts.write) {
    warn(warnings);
    if (opts.json) printJson({ config_file: file, ...snippet, written: false });
    else {
      process.stdout.write(JSON.stringify(snippet, null, 2) + '\n');
      process.stderr.write(`Merge this into ${file}, or run: tabcrew config claude-desktop --write\n`);
    }
    return 0;
  }
  const problems = launchProblems(entry, config);
  if (problems.length && !opts.force) {
    throw new ConfigFileError(
      `${file} was left unchanged: this entry could not launch agents.\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
        'Fix that and run this again, or pass --force to write it anyway.',
    );
  }
  const r = await mergeServer(file, SERVER_NAME, entry);
  // After the merge, so a refused file is the one message a person sees.
  warn(warnings);
  if (opts.json) {
    printJson({ config_file: file, ...snippet, written: r.changed, ...(r.backup ? { backup: r.backup } : {}), kept: r.kept });
  } else if (!r.changed) {
    process.stdout.write(`${file} already has this ${SERVER_NAME} entry; nothing was written.\n`);
  } else {
    process.stdout.write(
      `Added ${SERVER_NAME} to ${file}` +
        (r.kept.length ? ` (kept ${r.kept.join(', ')})` : '') +
        (r.backup ? `; the previous file is in ${r.backup}` : '') +
        '.\nRestart Claude Desktop to load it.\n',
    );
  }
  return 0;
}

/** `tabcrew config claude-code`: a line for a person to paste; tabcrew never runs it. */
export function configClaudeCodeCommand(config: Config, opts: { scope: string; json: boolean }): number {
  const { node, args } = serverCommand(config);
  const { line, warnings } = claudeCodeLine(config, opts.scope);
  warn(warnings);
  if (opts.json) printJson({ command: line, scope: opts.scope, name: SERVER_NAME, server: { command: node, args } });
  else process.stdout.write(line + '\n');
  return 0;
}
