#!/usr/bin/env node
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { defaultConfig, type Config } from './config.js';
import { agentsCommand } from './cli/agents.js';
import { configClaudeCodeCommand, configClaudeDesktopCommand } from './cli/config-claude.js';
import { doctorCommand } from './cli/doctor.js';
import { recoverCommand } from './cli/recover.js';
import { serve } from './cli/serve.js';
import { sessionsCommand } from './cli/sessions.js';
import { statusCommand } from './cli/status.js';
import { version } from './version.js';
import { keyRotateCommand } from './cli/key-rotate.js';
import { stateAcceptRollbackCommand } from './cli/state-accept-rollback.js';
import { auditTailCommand, auditVerifyCommand } from './cli/audit.js';
import { changesCommand } from './cli/changes.js';
import { messageShowCommand, messagesCommand } from './cli/messages.js';
import { runsCommand, runShowCommand } from './cli/runs.js';
import { setHandover } from './cli/handover.js';
import type { Handover } from './server/handover-transport.js';
import { crewOptionsFrom, doctorNodeCommand, nodesCommand, withNodeOptions } from './cli/nodes.js';
import { claudeCodeHttpLine, claudeCodeHttpNote, configHttpCommand, dashboardCommand, fingerprintCommand } from './cli/http-config.js';
import { dnsLabel, imageRef, MAX_NODES, nodeCount } from './cli/k8s-inputs.js';
import { DEFAULTS as K8S, manifestsYaml } from './cli/k8s-manifests.js';

import {
  configFrom,
  NODE_OPTIONS,
  OWN_OPTIONS,
  ownOptionsFirst,
  positiveInt,
  withSandboxOptions,
  withServerOptions,
  withStateOptions,
  httpAddress,
  httpBindAddress,
  hostNames,
} from './cli/options.js';
export { splitPathList } from './cli/options.js';

const JSON_HELP = 'print JSON instead of a table';

/** Commander's errors are usage errors; the command they came from picks the usage line. */
let failedCommand: Command | undefined;

function track(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    failedCommand ??= cmd;
    throw err;
  });
}

function fullName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}

/**
 * A command on the state that prints a report: a table, or JSON with --json; with `session`,
 * --session narrows it to one session.
 */
function reportCommand(
  parent: Command,
  name: string,
  description: string,
  run: (config: Config, o: { session?: string; json: boolean }) => number | Promise<number>,
  o: { session?: boolean; examples: string[]; terminal?: boolean },
): Command {
  const cmd = track(withStateOptions(parent.command(name).description(description), { terminal: o.terminal }));
  if (o.session) cmd.option('--session <session>', 'only this session (id or name)');
  return cmd
    .option('--json', JSON_HELP)
    .addHelpText('after', examples(...o.examples))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await run(configFrom(opts), { session: opts.session as string | undefined, json: !!opts.json });
    });
}

/** Edit distance at most 2, for "did you mean". */
function near(a: string, b: string): boolean {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length][b.length] <= 2;
}

/** The serve options a newcomer needs first, shown in the program's own help. */
const COMMON_SERVE_OPTIONS = ['--backend', '--state-dir', '--claude-path', '--tmux-socket', '--security-level', '--allowed-root', '--key-source'];

function commonServeOptions(serveCmd: Command): string {
  const help = serveCmd.createHelp();
  const opts = serveCmd.options.filter((o) => COMMON_SERVE_OPTIONS.includes(o.long ?? ''));
  const width = Math.max(...opts.map((o) => help.optionTerm(o).length));
  return [
    '',
    'Common options of serve (the default command; `tabcrew serve --help` lists all of them, each command --help its own):',
    ...opts.map((o) => `  ${help.optionTerm(o).padEnd(width)}  ${help.optionDescription(o)}`),
    examples('tabcrew serve --backend tmux --tmux-socket tabcrew', 'tabcrew doctor', 'tabcrew config claude-code'),
  ].join('\n');
}

export function buildProgram(): Command {
  const program = track(
    new Command('tabcrew')
      .description('Supervise a crew of Claude Code agents, each in its own terminal tab, over MCP.')
      .version(version)
      .showSuggestionAfterError()
      // Set before any subcommand is made: they inherit it.
      .configureHelp({ groupItems: ownOptionsFirst }),
  );
  const commandNames = (): string[] => program.commands.map((c) => c.name());

  const serveCmd = track(
    withNodeOptions(
      withServerOptions(program.command('serve', { isDefault: true }).description('run the MCP server on stdio (the default)')).optionsGroup(NODE_OPTIONS),
    ).optionsGroup(OWN_OPTIONS),
  );
  program.addHelpText('after', () => commonServeOptions(serveCmd));
  serveCmd
    .addOption(new Option('--no-auto-recover', 'do not bring agents back when the server starts').env('TABCREW_NO_AUTO_RECOVER'))
    .addOption(
      new Option('--http <[host:]port>', 'also serve MCP (at /mcp), the REST mirror and the dashboard over HTTP (docs/http.md)')
        .argParser(httpAddress)
        .env('TABCREW_HTTP'),
    )
    .addOption(
      new Option('--http-bind <address>', 'listen on this address instead of 127.0.0.1 (reachable from other machines)')
        .argParser(httpBindAddress)
        .env('TABCREW_HTTP_BIND'),
    )
    .addOption(new Option('--no-stdio', 'with --http: no MCP on stdio; run until stopped (SIGINT/SIGTERM)'))
    .addOption(
      new Option('--tls', 'with --http: serve https with a self-signed certificate made on first start (needs openssl; docs/nodes.md)').env('TABCREW_TLS'),
    )
    .addOption(new Option('--tls-cert <file>', 'with --http: serve https with this PEM certificate (and --tls-key)').env('TABCREW_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'the PEM key of --tls-cert').env('TABCREW_TLS_KEY'))
    .addOption(
      new Option('--http-host <name>', "with --http: one more name this server is reached by, accepted in Host (repeatable; e.g. a node's DNS name)")
        .argParser(hostNames)
        .default([] as string[])
        .env('TABCREW_HTTP_HOST'),
    )
    // Words after the default command arrive here: most likely a mistyped command name.
    .allowExcessArguments(true)
    .addHelpText('after', examples('tabcrew serve --tmux-socket tabcrew'))
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      if (cmd.args.length) {
        const word = cmd.args[0];
        const guess = commandNames().find((n) => near(word, n));
        failedCommand = program;
        cmd.error(`error: "${word}" is not a tabcrew command${guess ? ` (did you mean ${guess}?)` : ''}; commands: ${commandNames().join(', ')}.`, {
          code: 'commander.unknownCommand',
        });
      }
      await serve(configFrom(opts), crewOptionsFrom(opts));
    });

  reportCommand(program, 'status', 'each agent: status (checked against the terminal), tokens, last change', statusCommand, {
    session: true,
    examples: ['tabcrew status', 'tabcrew status --session app --json'],
  });

  reportCommand(program, 'sessions', 'sessions in the state: name, id, root, agents', sessionsCommand, { examples: ['tabcrew sessions --json'] });

  reportCommand(program, 'agents', 'agents in the state, with their status as last recorded (tabcrew status looks live)', agentsCommand, {
    session: true,
    examples: ['tabcrew agents --session app'],
  });

  const runs = reportCommand(program, 'runs', 'coordination runs (coordinate_agents): mode, state, progress', runsCommand, {
    session: true,
    examples: ['tabcrew runs', 'tabcrew runs --session app', 'tabcrew runs show r-1a2b3c4d'],
  });
  // The options of `runs` (state dirs, --json) are read by it wherever they stand, also after `show RUN`.
  track(runs.command('show').argument('<run>', 'the run id').description("one run: every agent's reply, status and time; votes of a consensus")).action(
    async (run: string, _opts: Record<string, unknown>, cmd: Command) => {
      const opts = cmd.parent!.opts();
      process.exitCode = await runShowCommand(configFrom(opts), { run, json: !!opts.json });
    },
  );

  track(
    withServerOptions(program.command('recover').description('bring agents back after a restart: adopt live tabs, resume conversations whose tabs are gone'), {
      listRules: false,
    }),
  )
    .option('--session <session>', 'only this session (id or name)')
    .option('--dry-run', 'report what would be done, change nothing')
    .option('--close-orphans', 'also close orphan tabs (no agent owns them, or a second tab runs an agent)')
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew recover --dry-run', 'tabcrew recover --close-orphans'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await recoverCommand(configFrom(opts), {
        session: opts.session as string | undefined,
        dryRun: !!opts.dryRun,
        closeOrphans: !!opts.closeOrphans,
        json: !!opts.json,
      });
    });

  track(
    withNodeOptions(
      withSandboxOptions(
        withStateOptions(
          program
            .command('doctor')
            .description('check Node.js, the terminal backend, Claude Code, the OS sandbox and the directories; exits 1 if a check fails'),
        ),
      ),
    ),
  )
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples('tabcrew doctor', 'tabcrew doctor --claude-path ~/.local/bin/claude', 'tabcrew doctor --node box1 --nodes-file ~/.config/tabcrew/nodes.yaml'),
    )
    .action(async (opts: Record<string, unknown>) => {
      // `--node box1` (a bare name) checks that node; `--node box1=ssh://…` defines it.
      const named = ((opts.node as string[]) ?? []).filter((v) => !v.includes('='));
      if (named.length) {
        const crew = crewOptionsFrom({ ...opts, node: (opts.node as string[]).filter((v) => v.includes('=')) });
        process.exitCode = await doctorNodeCommand(configFrom(opts), crew, named[0], { json: !!opts.json });
        return;
      }
      process.exitCode = await doctorCommand(configFrom(opts), { json: !!opts.json });
    });

  track(withStateOptions(program.command('changes').description("what each agent changed: its branch against the session's base branch, files and +/-")))
    .option('--session <session>', 'only this session (id or name)')
    .option('--agent <agent>', 'only this agent')
    .option('--patch', 'also print the diffs')
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew changes --session app', 'tabcrew changes --agent Agent_2 --patch'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await changesCommand(configFrom(opts), {
        session: opts.session as string | undefined,
        agent: opts.agent as string | undefined,
        patch: !!opts.patch,
        json: !!opts.json,
      });
    });

  const messages = track(
    withStateOptions(program.command('messages').description('agent messages of the state: sender, recipients, kind, size, delivery (no text)')),
  )
    .option('--session <session>', 'only this session (id or name)')
    .option('--agent <agent>', 'only messages from or to this agent')
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew messages --session app', 'tabcrew messages show m-abc123def4'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await messagesCommand(configFrom(opts), {
        session: opts.session as string | undefined,
        agent: opts.agent as string | undefined,
        json: !!opts.json,
      });
    });
  // The state options are the parent's: commander hands them to `messages` wherever they stand.
  track(messages.command('show').description('one message with its text (the only place tabcrew shows it)').argument('<id>', 'the message id (m-…)'))
    .addHelpText('after', examples('tabcrew messages show m-abc123def4 --state-dir ./state'))
    .action(async (id: string) => {
      const opts = messages.opts();
      process.exitCode = await messageShowCommand(configFrom(opts), id, { json: !!opts.json });
    });

  track(
    program.command('agent-mcp').description("the MCP server one agent runs for its tabcrew tools (started by the agent's Claude Code, not by hand)"),
  ).action(async () => {
    const { runAgentMcp } = await import('./agent-mcp/server.js');
    await runAgentMcp();
  });
  track(
    withNodeOptions(withStateOptions(program.command('nodes').description("the crew's nodes: reachability, tabcrew version, sessions and agents, last error"))),
  )
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew nodes --node box1=ssh://dev@box1', 'tabcrew nodes --nodes-file ~/.config/tabcrew/nodes.yaml --json'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await nodesCommand(configFrom(opts), crewOptionsFrom(opts), { json: !!opts.json });
    });
  track(program.command('dashboard').description('print a one-time link that logs this browser into the dashboard of the running `serve --http`'))
    .addOption(new Option('--state-dir <dir>', 'where the state (and the token) is kept').default(defaultConfig().stateDir).env('TABCREW_STATE_DIR'))
    .addOption(new Option('--http <[host:]port>', 'the server address (default: the running one)').argParser(httpAddress))
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew dashboard'))
    .action((opts: Record<string, unknown>) => {
      process.exitCode = dashboardCommand(configFrom(opts), { http: opts.http as string | undefined, json: !!opts.json });
    });

  const key = track(program.command('key').description('the key the state is encrypted with'));
  reportCommand(key, 'rotate', 're-encrypt the state under a new key (crash-safe; run again to finish an interrupted rotation)', keyRotateCommand, {
    terminal: false,
    examples: ['tabcrew key rotate'],
  });

  const state = track(program.command('state').description('the state file itself'));
  reportCommand(state, 'accept-rollback', 'accept an older state as the newest, after tabcrew refused it as a rollback', stateAcceptRollbackCommand, {
    terminal: false,
    examples: ['tabcrew state accept-rollback'],
  });

  const audit = track(program.command('audit').description('the tamper-evident audit log'));
  reportCommand(audit, 'verify', 'check the hash chain; exits 1 naming the first bad record', auditVerifyCommand, {
    examples: ['tabcrew audit verify'],
    terminal: false,
  });
  track(withStateOptions(audit.command('tail').description('the latest audit records, oldest first'), { terminal: false }))
    .option('--agent <agent>', 'only records about this agent')
    .option('--session <session>', 'only records about this session (id)')
    .addOption(new Option('--limit <n>', 'how many records').argParser(positiveInt).default(50))
    .option('--json', 'one JSON record per line')
    .addHelpText('after', examples('tabcrew audit tail --agent Agent_1'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await auditTailCommand(configFrom(opts), {
        agent: opts.agent as string | undefined,
        session: opts.session as string | undefined,
        limit: opts.limit as number,
        json: !!opts.json,
      });
    });

  const config = track(program.command('config').description('register tabcrew with an MCP client'));
  track(
    config.command('claude-desktop').description("print Claude Desktop's mcpServers entry for tabcrew; --write merges it into the config file (with a backup)"),
  )
    .option('--write', 'merge the entry into the config file, keeping everything else; the old file is copied beside it first')
    .option('--config-file <path>', 'the Claude Desktop config file (default: the one for this platform under $HOME)')
    .option('--force', 'with --write: write the entry even when it could not launch agents (Claude Code, tmux or node not found)')
    .addOption(
      new Option('--claude-path <path>', 'the Claude Code executable the server should use').default(defaultConfig().claudePath).env('TABCREW_CLAUDE_PATH'),
    )
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew config claude-desktop', 'tabcrew config claude-desktop --write'))
    .action(async (opts: Record<string, unknown>) => {
      process.exitCode = await configClaudeDesktopCommand(configFrom(opts), {
        write: !!opts.write,
        force: !!opts.force,
        configFile: opts.configFile === undefined ? undefined : resolve(opts.configFile as string),
        json: !!opts.json,
      });
    });
  track(config.command('claude-code').description('print the `claude mcp add` line that registers tabcrew with Claude Code'))
    .addOption(new Option('--scope <scope>', 'claude mcp add scope').choices(['local', 'user', 'project']).default('user'))
    .addOption(
      new Option('--claude-path <path>', 'the Claude Code executable the server should use').default(defaultConfig().claudePath).env('TABCREW_CLAUDE_PATH'),
    )
    .option('--json', JSON_HELP)
    .addOption(
      new Option('--http [[host:]port]', 'register the running `serve --http` (or the one at this address) over HTTP instead of stdio').argParser(httpAddress),
    )
    .addOption(new Option('--state-dir <dir>', 'the state of the HTTP server (its token)').default(defaultConfig().stateDir).env('TABCREW_STATE_DIR'))
    .addHelpText('after', examples('tabcrew config claude-code', 'tabcrew config claude-code --http'))
    .action((opts: Record<string, unknown>) => {
      if (opts.http) {
        process.stdout.write(claudeCodeHttpLine(configFrom(opts), { scope: opts.scope as string, http: opts.http as string | true }) + '\n');
        process.stderr.write(claudeCodeHttpNote(opts.scope as string));
        return;
      }
      process.exitCode = configClaudeCodeCommand(configFrom(opts), { scope: opts.scope as string, json: !!opts.json });
    });
  track(config.command('http').description('the HTTP endpoint of `serve --http` and its bearer token'))
    .addOption(new Option('--state-dir <dir>', 'where the state (and the token) is kept').default(defaultConfig().stateDir).env('TABCREW_STATE_DIR'))
    .addOption(new Option('--http <[host:]port>', 'the address, when no server is running yet').argParser(httpAddress))
    .option('--fingerprint', "print only the SHA-256 fingerprint of the server's TLS certificate (what a front pins)")
    .option('--cert <file>', 'with --fingerprint: the certificate given to serve --tls-cert (default: the self-signed one in the state dir)')
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('tabcrew config http', 'tabcrew config http --fingerprint > box1.sha256'))
    .action((opts: Record<string, unknown>) => {
      if (opts.fingerprint) {
        process.exitCode = fingerprintCommand(configFrom(opts), { certFile: opts.cert as string | undefined, json: !!opts.json });
        return;
      }
      process.exitCode = configHttpCommand(configFrom(opts), { http: opts.http as string | undefined, json: !!opts.json });
    });

  const k8s = track(program.command('k8s').description('run the crew on Kubernetes (docs/kubernetes.md)'));
  track(k8s.command('manifests').description('print the Kubernetes objects of a crew (multi-document YAML for kubectl apply -f -)'))
    .addOption(new Option('--namespace <name>', 'the namespace every object goes in').argParser(dnsLabel('--namespace')).default(K8S.namespace))
    .addOption(new Option('--nodes <n>', `node pods (1 to ${MAX_NODES})`).argParser(nodeCount).default(K8S.nodes))
    .addOption(new Option('--image <ref>', 'the image with node 20+, tabcrew, Claude Code and tmux').argParser(imageRef).default(K8S.image))
    .addOption(
      new Option('--token-secret <name>', "an existing Secret (key `token`) with the nodes' bearer token; default: a new one is generated").argParser(
        dnsLabel('--token-secret', 253),
      ),
    )
    .addOption(
      new Option('--tls-secret <name>', 'the kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) nodes serve with and the front trusts')
        .argParser(dnsLabel('--tls-secret', 253))
        .default(K8S.tlsSecret),
    )
    .addHelpText('after', examples('tabcrew k8s manifests --namespace crew --nodes 3 --image registry.example.com/tabcrew:1.0 | kubectl apply -f -'))
    .action((opts: Record<string, unknown>) => {
      process.stdout.write(
        manifestsYaml({
          namespace: opts.namespace as string,
          nodes: opts.nodes as number,
          image: opts.image as string,
          tokenSecret: opts.tokenSecret as string | undefined,
          tlsSecret: opts.tlsSecret as string,
          storage: K8S.storage,
        }),
      );
    });
  return program;
}

/** Runs the command line; dist/cli.js (scripts/cli-entry.mjs) calls it from the bundle. */
export async function main(argv: string[], handover?: Handover): Promise<void> {
  // The MCP handshake dist/cli.js answered already, for `serve` to continue from.
  setHandover(handover);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help, --version and `help <command>` end through here too, with exit code 0.
      if (e.exitCode === 0) process.exit(0);
      // Commander has printed what was wrong; a usage line tells what is right.
      const cmd = failedCommand ?? program;
      const usage =
        cmd === program
          ? 'usage: tabcrew [command] [options]   (tabcrew --help lists the commands; the default is serve)'
          : `usage: ${fullName(cmd)} ${cmd.usage()}   (${fullName(cmd)} --help for the options)`;
      process.stderr.write(usage + '\n');
      process.exit(2);
    }
    process.stderr.write(`tabcrew: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
