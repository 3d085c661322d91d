import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findOnPath } from './util/find-on-path.js';
import { expandHome } from './util/home-path.js';

/** Where the state key comes from (--key-source; store/keys.ts reads it). Defined here, below the store, as every setting is. */
export const KEY_SOURCES = ['auto', 'keychain', 'file', 'env'] as const;
export type KeySource = (typeof KEY_SOURCES)[number];

export type BackendChoice = 'auto' | 'tmux' | 'iterm2' | 'pty';
export type SecurityLevel = 'LOW' | 'MEDIUM' | 'HIGH';

/** Everything a tabcrew process is told at start; flags and TABCREW_* variables fill it. */
export interface Config {
  backend: BackendChoice;
  maxAgents: number;
  maxSessions: number;
  stateDir: string;
  logDir: string;
  /** Plaintext files Claude Code itself must read (settings, hook spool, launch specs). */
  runtimeDir: string;
  claudePath: string;
  /**
   * Set when --claude-path was left at `claude`, none is on PATH, and claudePath is the
   * Claude Code that `npm install` put in this checkout (a dev dependency) instead.
   */
  claudeFromPackage?: boolean;
  tmuxSocket: string;
  securityLevel: SecurityLevel;
  /**
   * How long create_agent waits for an agent to be ready before answering `starting`. Under 60 s
   * by default: clients with a fixed 60 s request timeout (the MCP Inspector CLI) give up then.
   */
  startTimeoutS: number;
  /**
   * Approve the person's ANTHROPIC_API_KEY in Claude Code's config before an agent starts, so
   * it does not stop at "Do you want to use this API key?", and with it record Claude Code's
   * first-run setup as completed (off, both: `serve --no-accept-api-key`).
   */
  acceptApiKey: boolean;
  /** Reconcile agents with the terminal when the server starts. */
  autoRecover: boolean;
  /** MEDIUM only: permit bypassPermissions. */
  allowBypass: boolean;
  /** HIGH: session roots must lie under one of these. */
  allowedRoots: string[];
  /** Token bucket per agent for send_message_to_agent. */
  rateLimitBurst: number;
  rateLimitPerMinute: number;
  /** Where the state key lives (see docs/state.md). */
  keySource: KeySource;
  keyFile?: string;
  /** How long agent messages are kept (delivered or not); default 3 h. */
  messageTtlS?: number;
  /** A JSON or YAML file of roles that add to or replace the built-in ones (claude/roles.ts). */
  rolesFile?: string;
  /** Helpers one agent may have at once, and how deep helpers of helpers may go (supervisor/children.ts). */
  maxChildren: number;
  maxDepth: number;
  /** Seconds an agent's permission request waits for decide_permission before it is left to the tab; absent: no limit. */
  permissionTimeoutS?: number;
  /** Long-running crews (docs/long-running.md): prices, budgets, health. */
  pricesFile?: string;
  maxCostPerAgentUsd?: number;
  maxTokensPerAgent?: number;
  maxTotalCostUsd?: number;
  /** Busy without progress this long: health `stuck`. */
  stuckAfterMs: number;
  /** A permission dialog open this long: health `waiting_long`. */
  waitingAfterMs: number;
  /** How often the audit log gets a usage record (while usage changed). */
  usageRecordEveryMs: number;
  /** Idle this long: the agent's Claude Code is stopped (hibernated) until its next message. */
  hibernateAfterMs?: number;
  /** Most agents starting at once, crew-wide; the rest wait their turn (supervisor/start-queue.ts). */
  maxStarting: number;
  /** tabcrew's first pause after a plain 429 that carries no reset time; doubled for each one in a row (supervisor/limits.ts). */
  limitBackoffMs: number;
  /** `serve --merge-check "CMD"`: run by /bin/sh -c in a temporary worktree of each merged tree before the base moves (docs/review-and-merge.md). */
  mergeCheck?: string;
  mergeCheckTimeoutMs?: number;
  /** Each agent of a new overlap (two agents changed one path) gets one message naming the file and the other agent; default on. */
  tellAgentsOnOverlap?: boolean;
  /** Desktop notifications (osascript / notify-send) when an agent needs a person. */
  notify?: boolean;
  /** `--notify-url` / `--notify-url-file` / TABCREW_NOTIFY_URL: alerts POSTed here (src/notify/; docs/alerts.md). Never logged: they may hold tokens. */
  notifyUrls?: string[];
  /** `--notify-format`: the body of each POST. */
  notifyFormat?: 'json' | 'ntfy' | 'slack';
  /** `--notify-min`: the quietest level pushed (notify/levels.ts). */
  notifyMin?: 'info' | 'warning' | 'urgent';
  /** `--notify-quiet HH:MM-HH:MM` in minutes after local midnight: only urgent alerts are pushed then. */
  notifyQuiet?: { from: number; to: number };
  /** `--notify-dashboard-url`: the dashboard as a person reaches it, for the links in alerts (default: serve --http's address). */
  notifyDashboardUrl?: string;
  /** `serve --http [HOST:]PORT`: also serve MCP, the REST mirror and the dashboard over HTTP. */
  http?: string;
  /** `--http-bind`: listen on this address instead of loopback. */
  httpBind?: string;
  /** `--no-stdio`: HTTP only; the server runs until it is stopped. */
  noStdio?: boolean;
  /** `--tls` / `--tls-cert` + `--tls-key`: serve https (src/server/http/tls.ts). */
  tls?: TlsChoice;
  /** `--http-host NAME`: more names the HTTP server is reached by (a node's DNS name). */
  httpHosts?: string[];
  /** Run every agent in the OS sandbox (claude/sandbox.ts): off, auto (when it works), on (refuse without). Absent: auto, or on at HIGH. */
  sandbox?: 'off' | 'auto' | 'on';
  /** `--sandbox-allow`: paths every agent's sandbox shows too (`DIR`, or `DIR:rw` read-write). */
  sandboxAllow: string[];
  /** `--sandbox-program`: the bwrap (Linux) or sandbox-exec (macOS) to use; default: found on PATH. */
  sandboxProgram?: string;
}

/** The sandbox mode in force: the flag, else `on` at security level HIGH and `auto` below it. */
export function sandboxMode(c: Pick<Config, 'sandbox' | 'securityLevel'>): 'off' | 'auto' | 'on' {
  return c.sandbox ?? (c.securityLevel === 'HIGH' ? 'on' : 'auto');
}

/** `--tls` (self-signed, made once in the state dir) or `--tls-cert F --tls-key F` (yours). */
export type TlsChoice = { selfSigned: true } | { certFile: string; keyFile: string };

/** The package root: where package.json is, whether running from src/ (tests) or dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('tabcrew cannot find its package.json above ' + fileURLToPath(import.meta.url));
}

export function defaultConfig(): Config {
  const root = packageRoot();
  return {
    backend: 'auto',
    maxAgents: 16,
    maxStarting: 3,
    limitBackoffMs: 5 * 60_000,
    maxSessions: 8,
    stateDir: join(root, 'state'),
    logDir: join(root, 'logs'),
    runtimeDir: join(root, 'runtime'),
    claudePath: 'claude',
    tmuxSocket: 'tabcrew',
    securityLevel: 'MEDIUM',
    startTimeoutS: 45,
    acceptApiKey: true,
    autoRecover: true,
    allowBypass: false,
    allowedRoots: [],
    rateLimitBurst: 6,
    rateLimitPerMinute: 12,
    keySource: 'auto',
    messageTtlS: 3 * 3600,
    maxChildren: 4,
    maxDepth: 2,
    stuckAfterMs: 10 * 60_000,
    waitingAfterMs: 10 * 60_000,
    usageRecordEveryMs: 15 * 60_000,
    sandboxAllow: [],
  };
}

/** The Claude Code `npm install` brings into a checkout of tabcrew (a dev dependency). */
export function packagedClaude(root = packageRoot()): string {
  return join(root, 'node_modules', '.bin', 'claude');
}

/**
 * The Claude Code agents will run: an explicit path made absolute (agents start in their
 * session root, where a relative path names another file); the bare default `claude` from
 * PATH, else the checkout's own node_modules/.bin/claude, so `npm install && npm start` works
 * without a global install.
 */
export function resolveClaudePath(claudePath: string, path = process.env.PATH, root = packageRoot()): { claudePath: string; claudeFromPackage?: boolean } {
  if (claudePath.includes('/')) return { claudePath: resolve(claudePath) };
  if (claudePath !== 'claude' || findOnPath(claudePath, path ?? '')) return { claudePath };
  const packaged = packagedClaude(root);
  return findOnPath(packaged) ? { claudePath: packaged, claudeFromPackage: true } : { claudePath };
}

export function withResolvedPaths(c: Config): Config {
  return {
    ...c,
    ...resolveClaudePath(c.claudePath),
    // A JSON config or a quoted value reaches us with its ~ unexpanded.
    stateDir: resolve(expandHome(c.stateDir)),
    logDir: resolve(expandHome(c.logDir)),
    runtimeDir: resolve(expandHome(c.runtimeDir)),
    allowedRoots: c.allowedRoots.map((r) => resolve(expandHome(r))),
  };
}
