import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { packageRoot } from '../config.js';
import { agentSecretPath, writeAgentMcpConfig } from './agent-mcp-config.js';
import { findPerl } from './hook-commands.js';
import { agentSettings } from './settings.js';
import type { EffectivePermissions } from './roles.js';
import { PERMISSIONS_DIR } from './permission-files.js';
import { renderAdderPrompt } from './prompt.js';
import { sharedRuntimeDir } from './agent-mcp-config.js';
import { AGENT_SETTINGS_FILE, bwrapArgv, parseSharedPath, sandboxPaths, sandboxRules, type SandboxInput, type SandboxKind } from './sandbox.js';
import { seatbeltArgv, seatbeltProfile } from './sandbox-seatbelt.js';
import { ensureClaudeConfigFile, prepareSandboxPaths, programPaths, realpathOr, systemPaths } from './sandbox-host.js';
import { claudeConfigDir } from './watch.js';

export interface AgentLaunchInput {
  agent: string;
  sessionName: string;
  root: string;
  role?: string;
  roleTitle?: string;
  roleGuidance?: string;
  model?: string;
  permissionMode?: string;
  peers: string[];
  /** Claude Code permission rules denied to this agent (other sessions' roots). */
  deny?: string[];
  /** Its role's permission rules (claude/roles.ts); read_only also shows its root read-only in the sandbox. */
  rolePermissions?: EffectivePermissions;
  /** The session's id, and the boundaries file its PreToolUse hook consults; absent at security level LOW. */
  sessionId?: string;
  boundariesFile?: string;
  claudeSessionId: string;
  /** --permission-timeout: how long the PermissionRequest hook waits for a decision over MCP. */
  permissionTimeoutS?: number;
  /** The agent's own git worktree: where Claude Code runs, and what its prompt names as its working directory. */
  worktree?: { path: string; branch: string };
  /** Resume the conversation `claudeSessionId` instead of starting it. */
  resume: boolean;
  claudePath: string;
  runtimeDir: string;
  baseEnv: NodeJS.ProcessEnv;
  /** This launch's secret and the supervisor's socket: the agent gets tabcrew's agent tools (agent-mcp). */
  agentMcp?: { secret: string; socket: string };
  /** Run the whole Claude Code process tree in this OS sandbox (sandbox.ts); absent: none. */
  sandbox?: AgentSandboxSetup;
  /** Paths this agent's sandbox shows too (create_agent's sandbox_extra_paths): `DIR` or `DIR:rw`. */
  sandboxExtraPaths?: string[];
}

export interface AgentSandboxSetup {
  kind: SandboxKind;
  program: string;
  /** tabcrew's own files, hidden from the agent. */
  stateDir: string;
  logDir: string;
  keyFile?: string;
  /** --sandbox-allow: shown to every agent (`DIR` or `DIR:rw`). */
  allow: string[];
}

/** What an agent's sandbox shows, for its status; system folders and programs left out. */
export interface AgentSandbox {
  kind: SandboxKind;
  paths: { read: string[]; write: string[]; hidden: string[] };
}

export interface AgentLaunch {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  /** The agent's plaintext runtime folder: settings and hook spool. */
  agentDir: string;
  eventsFile: string;
  /** Unique per launch; hook records carry it (see HookRecord.launch). */
  launchId: string;
  sandbox?: AgentSandbox;
}

/**
 * Variables that must not reach an agent: tabcrew's own configuration (it may hold the
 * state key), and the markers Claude Code sets for its child processes — an agent launched
 * from a tabcrew that Claude Code started would otherwise believe it is nested in it.
 */
const WITHHELD = [/^TABCREW_/, /^CLAUDECODE$/, /^CLAUDE_CODE_ENTRYPOINT$/, /^CLAUDE_CODE_SSE_PORT$/];

/** The Seatbelt profile of an agent's launch, in its runtime folder (holds no path: sandbox-seatbelt.ts). */
export const SEATBELT_PROFILE = 'sandbox.sb';

/** The hook program agents' settings name (and the guard protects): the one-file bundle. */
export function hookProgram(): string {
  return join(packageRoot(), 'dist', 'hook.cjs');
}

export function agentDirFor(runtimeDir: string, claudeSessionId: string): string {
  return join(runtimeDir, 'agents', claudeSessionId);
}

export async function prepareLaunch(input: AgentLaunchInput): Promise<AgentLaunch> {
  const agentDir = agentDirFor(input.runtimeDir, input.claudeSessionId);
  await mkdir(input.runtimeDir, { recursive: true, mode: 0o700 });
  await mkdir(agentDir, { recursive: true, mode: 0o700 });
  const bypass = input.permissionMode === 'bypassPermissions';
  const settingsFile = join(agentDir, AGENT_SETTINGS_FILE);
  const runner = { node: process.execPath, hook: hookProgram(), perl: findPerl() };
  await writeFile(
    settingsFile,
    JSON.stringify(
      agentSettings({
        bypass,
        deny: [...(input.deny ?? []), ...(input.rolePermissions?.deny ?? [])],
        allow: input.rolePermissions?.allow,
        agentTools: !!input.agentMcp,
        permissionTimeoutS: input.permissionTimeoutS,
        runner,
      }),
      null,
      2,
    ),
    { mode: 0o600 },
  );
  const eventsFile = join(agentDir, 'events.jsonl');

  const argv = [input.claudePath];
  argv.push(...(input.resume ? ['--resume', input.claudeSessionId] : ['--session-id', input.claudeSessionId]));
  argv.push('--name', input.agent);
  // By file, not as an argument: argv is visible to every user in `ps`, and the prompt
  // names the session, its root and the peers.
  const promptFile = join(agentDir, 'system-prompt.md');
  const prompt = renderAdderPrompt({
    agent: input.agent,
    session: input.sessionName,
    root: input.root,
    ...(input.worktree ? { worktree: { path: input.worktree.path, branch: input.worktree.branch } } : {}),
    role: input.role,
    roleTitle: input.roleTitle,
    roleGuidance: input.roleGuidance,
    readOnly: input.rolePermissions?.read_only,
    peers: input.peers,
  });
  await writeFile(promptFile, prompt, { mode: 0o600 });
  argv.push('--append-system-prompt-file', promptFile);
  argv.push('--settings', settingsFile);
  // --mcp-config takes several values: the next flag ends them.
  if (input.agentMcp) argv.push('--mcp-config', await writeAgentMcpConfig(agentDir, { agent: input.agent, ...input.agentMcp }));
  if (input.model) argv.push('--model', input.model);
  if (input.permissionMode) argv.push('--permission-mode', input.permissionMode);

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.baseEnv)) {
    if (v !== undefined && !WITHHELD.some((re) => re.test(k))) env[k] = v;
  }
  env.TABCREW_NODE = process.execPath;
  env.TABCREW_HOOK = runner.hook;
  env.TABCREW_EVENTS = eventsFile;
  env.TABCREW_AGENT = input.agent;
  const launchId = randomUUID();
  env.TABCREW_LAUNCH = launchId;
  env.TABCREW_PERMISSIONS = join(agentDir, PERMISSIONS_DIR);
  if (input.permissionTimeoutS) env.TABCREW_PERMISSION_TIMEOUT = String(input.permissionTimeoutS);
  if (input.agentMcp) {
    // The hook asks the supervisor to count usage before a tool runs (claude/usage-nudge.ts): where, not the secret.
    env.TABCREW_SOCKET = input.agentMcp.socket;
    env.TABCREW_SECRET_FILE = agentSecretPath(agentDir);
  }
  if (input.boundariesFile) {
    env.TABCREW_BOUNDARIES = input.boundariesFile;
    env.TABCREW_SESSION = input.sessionId ?? '';
  }
  const cwd = input.worktree?.path ?? input.root;
  if (!input.sandbox) return { argv, env, cwd, agentDir, eventsFile, launchId };
  const boxed = await sandboxed(input, input.sandbox, agentDir, argv, env);
  return { argv: boxed.argv, env, cwd, agentDir, eventsFile, launchId, sandbox: boxed.sandbox };
}

/** Wraps Claude Code's argv in the platform's sandbox, built from the agent's rule list. */
async function sandboxed(
  input: AgentLaunchInput,
  setup: AgentSandboxSetup,
  agentDir: string,
  argv: string[],
  env: Record<string, string>,
): Promise<{ argv: string[]; sandbox: AgentSandbox }> {
  const home = realpathOr(env.HOME || homedir());
  const configDir = realpathOr(claudeConfigDir(env));
  const configFile = env.CLAUDE_CONFIG_DIR ? join(configDir, '.claude.json') : join(home, '.claude.json');
  await ensureClaudeConfigFile(configFile);
  const runtimeDir = realpathOr(input.runtimeDir);
  const keyFile = setup.keyFile && existsSync(setup.keyFile) ? realpathOr(setup.keyFile) : undefined;
  const sandboxInput: SandboxInput = {
    root: realpathOr(input.root),
    ...(input.worktree ? { worktree: realpathOr(input.worktree.path), gitCommonDir: join(realpathOr(input.root), '.git') } : {}),
    claudeSessionId: input.claudeSessionId,
    ...(input.rolePermissions?.read_only ? { readOnly: true } : {}),
    home,
    claudeConfigDir: configDir,
    claudeConfigFile: configFile,
    agentDir: realpathOr(agentDir),
    sharedDir: sharedRuntimeDir(runtimeDir),
    runtimeDir,
    stateDir: realpathOr(setup.stateDir),
    logDir: realpathOr(setup.logDir),
    ...(keyFile ? { keyFile } : {}),
    ...(env.TMUX_TMPDIR ? { tmuxDir: realpathOr(env.TMUX_TMPDIR) } : {}),
    system: systemPaths(setup.kind),
    programs: programPaths(input.claudePath, packageRoot()),
    shared: [...setup.allow, ...(input.sandboxExtraPaths ?? [])].map(parseSharedPath).map((s) => ({ ...s, path: realpathOr(s.path) })),
  };
  await prepareSandboxPaths(sandboxInput);
  const rules = sandboxRules(sandboxInput);
  // A link to Claude Code (node_modules/.bin, ~/.local/bin) may lie where the sandbox shows nothing.
  const command = [realpathOr(argv[0]), ...argv.slice(1)];
  if (setup.kind === 'bubblewrap') {
    env.TMPDIR = '/tmp';
  } else {
    // Seatbelt has no private /tmp: the agent's own folder holds its temporary files.
    env.TMPDIR = join(agentDir, 'tmp');
    await mkdir(env.TMPDIR, { recursive: true, mode: 0o700 });
  }
  let wrapped: string[];
  if (setup.kind === 'bubblewrap') {
    wrapped = bwrapArgv(setup.program, rules, command);
  } else {
    const { profile, params } = seatbeltProfile(rules);
    const profileFile = join(agentDir, SEATBELT_PROFILE);
    await writeFile(profileFile, profile, { mode: 0o600 });
    wrapped = seatbeltArgv(setup.program, profileFile, params, command);
  }
  return { argv: wrapped, sandbox: { kind: setup.kind, paths: sandboxPaths(rules) } };
}

export async function removeAgentDir(runtimeDir: string, claudeSessionId: string): Promise<void> {
  await rm(agentDirFor(runtimeDir, claudeSessionId), { recursive: true, force: true });
}
