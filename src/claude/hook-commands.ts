import { accessSync, constants } from 'node:fs';

/*
 * Which program Claude Code starts for each hook event of an agent (claude/settings.ts puts
 * these into the agent's settings). Every event appends to the agent's spool; only PreToolUse
 * (the session boundary, claude/boundary.ts) and PermissionRequest (claude/permission-hold.ts)
 * decide, so only they start node, on the one-file hook program (dist/hook.cjs). The others —
 * most of a turn's hooks — are a perl one-liner that appends Claude Code's own hook JSON to the
 * spool in one write(2) (O_APPEND: lines from concurrent hooks never interleave, whatever their
 * size), and the supervisor derives the record from it (claude/events.ts: spoolRecord). At
 * Stop the same one-liner then asks the supervisor to count usage (claude/usage-nudge.ts).
 * perl starts in ~1 ms of CPU, node in ~60. Without /usr/bin/perl every event runs node as before.
 *
 * Exec form (`command` + `args`, Claude Code 2.1.332): no shell starts, and the paths are
 * argv, never shell text.
 */

export interface HookRunner {
  /** The node binary (the supervisor's own). */
  node: string;
  /** The hook program (dist/hook.cjs). */
  hook: string;
  /** perl for the events that decide nothing; absent: node runs them too. */
  perl?: string;
}

/** What Claude Code runs for one hook: the executable and its arguments. */
export interface HookExec {
  command: string;
  args: string[];
}

/** Events whose hook answers Claude Code, on stdout: they need the node hook program. */
export const DECIDING_EVENTS: ReadonlySet<string> = new Set(['PreToolUse', 'PermissionRequest']);

const PERL = '/usr/bin/perl';

/** /usr/bin/perl when it can be run (macOS and Debian/Ubuntu ship it; Alpine does not). */
export function findPerl(path = PERL): string | undefined {
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

/**
 * One spool line: `{"launch":…,"ts_s":…,"hook":<Claude Code's hook JSON>}`. Line breaks can only
 * be whitespace between JSON tokens (inside a string they are escaped), so they become spaces.
 * umask 077: the spool is created 0600. It prints nothing, exits 0, and a spool it cannot
 * open costs the record, never the event.
 */
export const SPOOL_APPEND_PL = [
  'umask 077;',
  'local $/; my $r = <STDIN>; $r = "" unless defined $r; $r =~ tr/\\r\\n/  /; $r =~ s/^\\s+|\\s+$//g;',
  'my $l = $ENV{TABCREW_LAUNCH}; $l = "" unless defined $l; $l =~ s/[^\\w.-]//g; $l = substr($l, 0, 64);',
  'if (length $r && $ENV{TABCREW_EVENTS} && open(my $f, ">>", $ENV{TABCREW_EVENTS})) {',
  'syswrite($f, qq({"launch":"$l","ts_s":) . time() . qq(,"hook":$r}\\n)); close($f) }',
].join(' ');

/**
 * After the append, the usage nudge over the agent socket (the node side: usage-nudge.ts): the
 * secret is read from its file, never passed as an argument; a supervisor that is down or
 * silent costs at most 3 s (alarm), and nothing is printed either way.
 */
export const COUNT_USAGE_PL = [
  'my ($s, $n, $k) = @ENV{qw(TABCREW_SOCKET TABCREW_AGENT TABCREW_SECRET_FILE)};',
  'exit 0 unless $s && $n && $k && open(my $kf, "<", $k);',
  'my $sec = do { local $/; <$kf> }; $sec = "" unless defined $sec; $sec =~ s/^\\s+|\\s+$//g; exit 0 unless length $sec;',
  'for ($n, $sec) { s/([\\\\"])/\\\\$1/g; s/[\\x00-\\x1f]//g }',
  // AF_UNIX and SOCK_STREAM are 1 on Linux and macOS; sockaddr_un packed by hand, as loading perl's Socket module would cost 8 ms.
  'my $addr = $^O eq "darwin" ? pack("CCa104", 106, 1, $s) : pack("Sa108", 1, $s);',
  'socket(my $c, 1, 1, 0) or exit 0;',
  '$SIG{ALRM} = sub { exit 0 }; alarm 3;',
  'connect($c, $addr) or exit 0;',
  'syswrite($c, qq({"id":1,"agent":"$n","secret":"$sec","method":"count_usage","params":{}}\\n));',
  'my $got = ""; while (sysread($c, my $b, 4096)) { $got .= $b; last if $got =~ /\\n/ }',
  'exit 0;',
].join(' ');

/** The program for one event. */
export function hookExec(event: string, runner: HookRunner): HookExec {
  if (DECIDING_EVENTS.has(event) || !runner.perl) return { command: runner.node, args: [runner.hook] };
  return { command: runner.perl, args: ['-e', event === 'Stop' ? `${SPOOL_APPEND_PL} ${COUNT_USAGE_PL}` : SPOOL_APPEND_PL] };
}
