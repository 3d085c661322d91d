import { InvalidArgumentError, Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { defaultConfig, type Config } from '../config.js';
import { ALERT_LEVELS } from '../notify/levels.js';
import { NOTIFY_FORMATS } from '../notify/formats.js';
import { parseQuietHours } from '../notify/policy.js';
import { checkUrl, notifyUrls } from '../notify/targets.js';
import { parseDuration } from '../util/duration.js';

/** Flags of long-running crews: prices, budgets, health (docs/long-running.md). */

function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('must be a duration such as 30s, 10m or 2h (a plain number is minutes).');
  return ms;
}

function usd(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be an amount of US dollars above 0, e.g. 2.50.');
  return n;
}

function startCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('must be a whole number from 1 to 64.');
  return n;
}

function tokens(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of tokens of at least 1.');
  return n;
}

function quietHours(value: string): { from: number; to: number } {
  const q = parseQuietHours(value);
  if (!q) throw new InvalidArgumentError('must be two different local times HH:MM-HH:MM, e.g. 22:00-07:30.');
  return q;
}

/** Repeatable: each --notify-url adds one (TABCREW_NOTIFY_URL may hold several, separated by spaces). */
function addUrl(value: string, prev: string[] = []): string[] {
  return [...prev, value];
}

function dashboardUrl(value: string): string {
  try {
    checkUrl(value, '--notify-dashboard-url');
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return value;
}

/** For every command that reports usage (`serve`, `status`). */
export function withPriceOptions(cmd: Command): Command {
  return cmd.addOption(
    new Option('--prices-file <path>', 'JSON price table keyed by model id, USD per million tokens (on top of the built-in one)').env('TABCREW_PRICES_FILE'),
  );
}

/** For the commands that run agents. */
export function withLongRunOptions(cmd: Command): Command {
  const d = defaultConfig();
  return cmd
    .addOption(new Option('--max-cost-per-agent <usd>', 'pause an agent once its cost reaches this').argParser(usd).env('TABCREW_MAX_COST_PER_AGENT'))
    .addOption(new Option('--max-tokens-per-agent <n>', 'pause an agent once its tokens reach this').argParser(tokens).env('TABCREW_MAX_TOKENS_PER_AGENT'))
    .addOption(new Option('--max-total-cost <usd>', 'pause every agent once the crew cost reaches this').argParser(usd).env('TABCREW_MAX_TOTAL_COST'))
    .addOption(
      new Option('--stuck-after <duration>', 'busy this long without progress: health stuck')
        .argParser(duration)
        .default(d.stuckAfterMs, '10m')
        .env('TABCREW_STUCK_AFTER'),
    )
    .addOption(
      new Option('--waiting-after <duration>', 'a permission dialog open this long: health waiting_long')
        .argParser(duration)
        .default(d.waitingAfterMs, '10m')
        .env('TABCREW_WAITING_AFTER'),
    )
    .addOption(
      new Option('--hibernate-after <duration>', "stop an agent's Claude Code after this long idle; its next message wakes it")
        .argParser(duration)
        .env('TABCREW_HIBERNATE_AFTER'),
    )
    .addOption(
      new Option(
        '--merge-check <command>',
        'before merge_agent_work moves the base branch, run this command (by /bin/sh -c) in a temporary worktree of the merged tree; a failure refuses the merge',
      ).env('TABCREW_MERGE_CHECK'),
    )
    .addOption(
      new Option('--merge-check-timeout <duration>', 'stop --merge-check after this long (it then counts as failed)')
        .argParser(duration)
        .env('TABCREW_MERGE_CHECK_TIMEOUT'),
    )
    .addOption(
      new Option('--no-tell-agents-on-overlap', 'do not message two agents that changed the same file (the overlap is still listed and logged)').env(
        'TABCREW_NO_TELL_AGENTS_ON_OVERLAP',
      ),
    )
    .addOption(
      new Option('--max-starting <n>', 'most agents starting at once, crew-wide; the rest wait their turn')
        .argParser(startCount)
        .default(d.maxStarting)
        .env('TABCREW_MAX_STARTING'),
    )
    .addOption(
      new Option('--limit-backoff <duration>', 'pause after an API 429 without a reset time (doubles for each one in a row, at most 1h)')
        .argParser(duration)
        .default(d.limitBackoffMs, '5m')
        .env('TABCREW_LIMIT_BACKOFF'),
    )
    .addOption(new Option('--notify', 'also show a desktop notification when an agent needs a person').env('TABCREW_NOTIFY'))
    .addOption(
      new Option(
        '--notify-url <url>',
        'POST an alert here when an agent needs a person (repeatable; a URL with a token is better in --notify-url-file or TABCREW_NOTIFY_URL, out of ps)',
      )
        .argParser(addUrl)
        .env('TABCREW_NOTIFY_URL'),
    )
    .addOption(new Option('--notify-url-file <path>', 'alert URLs, one a line (# comments)').env('TABCREW_NOTIFY_URL_FILE'))
    .addOption(
      new Option('--notify-format <format>', 'the body of each alert POST')
        .choices([...NOTIFY_FORMATS])
        .default('json')
        .env('TABCREW_NOTIFY_FORMAT'),
    )
    .addOption(
      new Option('--notify-min <level>', 'push only alerts of at least this level (--notify-url, --notify)')
        .choices([...ALERT_LEVELS])
        .default('info')
        .env('TABCREW_NOTIFY_MIN'),
    )
    .addOption(
      new Option('--notify-quiet <HH:MM-HH:MM>', 'local quiet hours: only urgent alerts (an agent waiting on a person, a crash) are pushed then')
        .argParser(quietHours)
        .env('TABCREW_NOTIFY_QUIET'),
    )
    .addOption(
      new Option('--notify-dashboard-url <url>', "the dashboard's address as a person reaches it, for alert links (default: serve --http's)")
        .argParser(dashboardUrl)
        .env('TABCREW_NOTIFY_DASHBOARD_URL'),
    )
    .addOption(
      new Option('--usage-record-every <duration>', 'how often the audit log gets a usage record')
        .argParser(duration)
        .default(d.usageRecordEveryMs, '15m')
        .env('TABCREW_USAGE_RECORD_EVERY'),
    );
}

/** The Config fields of these flags; flags a command did not declare keep their defaults. */
type LongRunConfig = Pick<
  Config,
  | 'pricesFile'
  | 'maxCostPerAgentUsd'
  | 'maxTokensPerAgent'
  | 'maxTotalCostUsd'
  | 'stuckAfterMs'
  | 'waitingAfterMs'
  | 'usageRecordEveryMs'
  | 'hibernateAfterMs'
  | 'maxStarting'
  | 'limitBackoffMs'
  | 'notify'
  | 'notifyUrls'
  | 'notifyFormat'
  | 'notifyMin'
  | 'notifyQuiet'
  | 'notifyDashboardUrl'
  | 'mergeCheck'
  | 'mergeCheckTimeoutMs'
  | 'tellAgentsOnOverlap'
>;

export function longRunConfig(o: Record<string, unknown>): LongRunConfig {
  const d = defaultConfig();
  const num = (v: unknown, parse: (s: string) => number): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' ? parse(v) : undefined);
  return {
    pricesFile: typeof o.pricesFile === 'string' ? resolve(o.pricesFile) : undefined,
    maxCostPerAgentUsd: num(o.maxCostPerAgent, usd),
    maxTokensPerAgent: num(o.maxTokensPerAgent, tokens),
    maxTotalCostUsd: num(o.maxTotalCost, usd),
    stuckAfterMs: num(o.stuckAfter, duration) ?? d.stuckAfterMs,
    waitingAfterMs: num(o.waitingAfter, duration) ?? d.waitingAfterMs,
    usageRecordEveryMs: num(o.usageRecordEvery, duration) ?? d.usageRecordEveryMs,
    hibernateAfterMs: num(o.hibernateAfter, duration),
    maxStarting: num(o.maxStarting, startCount) ?? d.maxStarting,
    limitBackoffMs: num(o.limitBackoff, duration) ?? d.limitBackoffMs,
    notify: !!o.notify,
    notifyUrls: notifyUrls({
      urls: typeof o.notifyUrl === 'string' ? [o.notifyUrl] : ((o.notifyUrl as string[] | undefined) ?? []),
      file: typeof o.notifyUrlFile === 'string' ? resolve(o.notifyUrlFile) : undefined,
    }),
    notifyFormat: (o.notifyFormat as Config['notifyFormat']) ?? 'json',
    notifyMin: (o.notifyMin as Config['notifyMin']) ?? 'info',
    ...(o.notifyQuiet !== undefined
      ? { notifyQuiet: typeof o.notifyQuiet === 'string' ? quietHours(o.notifyQuiet) : (o.notifyQuiet as Config['notifyQuiet']) }
      : {}),
    ...(typeof o.notifyDashboardUrl === 'string' ? { notifyDashboardUrl: o.notifyDashboardUrl } : {}),
    mergeCheck: typeof o.mergeCheck === 'string' && o.mergeCheck.trim() ? o.mergeCheck : undefined,
    mergeCheckTimeoutMs: num(o.mergeCheckTimeout, duration),
    tellAgentsOnOverlap: o.tellAgentsOnOverlap !== false,
  };
}
