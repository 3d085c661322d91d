#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { defaultConfig, withResolvedPaths, type Config } from './config.js';
import { serve } from './cli/serve.js';
import { recoverCommand } from './cli/recover.js';
import { version } from './version.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1.');
  return n;
}

/** Options `serve` shares with every later command that reads the same state. */
function withServerOptions(cmd: Command): Command {
  const d = defaultConfig();
  return cmd
    .addOption(
      new Option('--backend <name>', 'terminal backend').choices(['auto', 'tmux', 'iterm2', 'pty']).default(d.backend).env('TABCREW_BACKEND'),
    )
    .addOption(new Option('--max-agents <n>', 'most agents at once').argParser(positiveInt).default(d.maxAgents).env('TABCREW_MAX_AGENTS'))
    .addOption(new Option('--max-sessions <n>', 'most sessions at once').argParser(positiveInt).default(d.maxSessions).env('TABCREW_MAX_SESSIONS'))
    .addOption(new Option('--state-dir <dir>', 'where the state is kept').default(d.stateDir).env('TABCREW_STATE_DIR'))
    .addOption(new Option('--log-dir <dir>', 'where logs are written').default(d.logDir).env('TABCREW_LOG_DIR'))
    .addOption(
      new Option('--runtime-dir <dir>', 'plaintext files Claude Code reads (hook settings, hook spool)').default(d.runtimeDir).env('TABCREW_RUNTIME_DIR'),
    )
    .addOption(new Option('--claude-path <path>', 'the Claude Code executable').default(d.claudePath).env('TABCREW_CLAUDE_PATH'))
    .addOption(new Option('--tmux-socket <name>', 'tmux server socket name (tmux -L)').default(d.tmuxSocket).env('TABCREW_TMUX_SOCKET'))
    .addOption(
      new Option('--security-level <level>', 'how strict tabcrew is with roots and permission modes')
        .choices(['LOW', 'MEDIUM', 'HIGH'])
        .default(d.securityLevel)
        .env('TABCREW_SECURITY_LEVEL'),
    )
    .addOption(
      new Option('--start-timeout <seconds>', 'how long create_agent waits for an agent to be ready')
        .argParser(positiveInt)
        .default(d.startTimeoutS)
        .env('TABCREW_START_TIMEOUT'),
    )
    .addOption(new Option('--allow-bypass', 'security level MEDIUM: allow permission_mode bypassPermissions').env('TABCREW_ALLOW_BYPASS'))
    .addOption(
      new Option('--allowed-root <dir...>', 'security level HIGH: session roots must lie under one of these')
        .default([] as string[])
        .env('TABCREW_ALLOWED_ROOTS'),
    )
    .addOption(
      new Option('--rate-limit-burst <n>', 'messages an agent may receive at once').argParser(positiveInt).default(d.rateLimitBurst).env('TABCREW_RATE_LIMIT_BURST'),
    )
    .addOption(
      new Option('--rate-limit-per-minute <n>', 'messages an agent may receive per minute after the burst')
        .argParser(positiveInt)
        .default(d.rateLimitPerMinute)
        .env('TABCREW_RATE_LIMIT_PER_MINUTE'),
    );
}

function configFrom(o: Record<string, unknown>): Config {
  return withResolvedPaths({
    backend: o.backend as Config['backend'],
    maxAgents: o.maxAgents as number,
    maxSessions: o.maxSessions as number,
    stateDir: o.stateDir as string,
    logDir: o.logDir as string,
    runtimeDir: o.runtimeDir as string,
    claudePath: o.claudePath as string,
    tmuxSocket: o.tmuxSocket as string,
    securityLevel: o.securityLevel as Config['securityLevel'],
    startTimeoutS: o.startTimeout as number,
    autoRecover: o.autoRecover !== false,
    allowBypass: !!o.allowBypass,
    // From the environment the list arrives as one string: colon-separated, like PATH.
    allowedRoots: (typeof o.allowedRoot === 'string' ? o.allowedRoot.split(':') : ((o.allowedRoot as string[]) ?? [])).filter(Boolean),
    rateLimitBurst: o.rateLimitBurst as number,
    rateLimitPerMinute: o.rateLimitPerMinute as number,
  });
}

export function buildProgram(): Command {
  const program = new Command('tabcrew')
    .description('Supervise a crew of Claude Code agents, each in its own terminal tab, over MCP.')
    .version(version)
    .exitOverride()
    .showSuggestionAfterError();
  withServerOptions(program.command('serve', { isDefault: true }).description('run the MCP server on stdio (the default)'))
    .addOption(new Option('--no-auto-recover', 'do not bring agents back when the server starts').env('TABCREW_NO_AUTO_RECOVER'))
    .exitOverride()
    .action(async (opts: Record<string, unknown>) => serve(configFrom(opts)));
  withServerOptions(
    program
      .command('recover')
      .description('bring agents back after a restart: adopt live tabs, resume conversations whose tabs are gone'),
  )
    .option('--session <session>', 'only this session (id or name)')
    .option('--dry-run', 'report what would be done, change nothing')
    .option('--json', 'print JSON instead of a table')
    .exitOverride()
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await recoverCommand(configFrom(opts), {
        session: opts.session as string | undefined,
        dryRun: !!opts.dryRun,
        json: !!opts.json,
      });
    });
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') process.exit(0);
      // Commander has printed what was wrong; a usage line tells what is right.
      process.stderr.write('usage: tabcrew [serve] [options]   (tabcrew --help for the options)\n');
      process.exit(2);
    }
    process.stderr.write(`tabcrew: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

void main(process.argv);
