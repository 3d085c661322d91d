import { accessSync, constants } from 'node:fs';

/*
 * Which program Claude Code starts for each hook event of an agent (claude/settings.ts puts
 * these into the agent's settings). perl starts in ~1 ms of CPU, node in ~50, and an agent's
 * turn fires several hooks, so every event but PermissionRequest runs a perl one-liner:
 *
 * - Events that decide nothing append Claude Code's own hook JSON to the spool in one write(2)
 *   (O_APPEND: lines from concurrent hooks never interleave, whatever their size); the
 *   supervisor derives the record from it (claude/events.ts: spoolRecord). At Stop the same
 *   one-liner then asks the supervisor to count usage (claude/usage-nudge.ts).
 * - PreToolUse (the session boundary and the usage count before the tool runs) sends the hook
 *   JSON to the running supervisor over the agent socket (`pre_tool_use`), which counts and
 *   decides with the node hook's own code (claude/pre-tool-use.ts, supervisor/tool-guard.ts)
 *   and answers with the spool line and the stdout; perl appends and prints them, nothing
 *   else. When no answer comes (no supervisor, an older one, a call over 400 KB, 3 s without
 *   a word) perl has spooled nothing and runs the node hook program on the same input, which
 *   decides as it always did: the boundary holds while tabcrew is down, and every event is
 *   spooled once.
 * - PermissionRequest (rare: a held dialog) starts node on the one-file hook program
 *   (dist/hook.cjs, src/hook.ts).
 *
 * Without /usr/bin/perl every event runs node. Exec form (`command` + `args`, Claude Code
 * 2.1.332): no shell starts; paths are argv or environment, never shell text, and the agent's
 * secret is read from its file, never an argument.
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

/** Events whose hook is the node program itself: PermissionRequest holds the dialog for the supervisor's decision. */
export const NODE_EVENTS: ReadonlySet<string> = new Set(['PermissionRequest']);

/** The largest hook JSON the perl PreToolUse hook sends the supervisor: as hex, twice as long, it stays under the socket's 1 MB a request. */
export const PRE_TOOL_USE_MAX_INPUT = 400_000;

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

/**
 * PreToolUse: the supervisor's answer, else the node hook (argv: node, then the hook program).
 * The request carries the hook JSON as hex (the exact bytes on one line, escaped by `unpack`),
 * and the answer the spool line and stdout as hex (decoded by `pack`): perl parses no JSON, it
 * only recognises the one answer shape supervisor/tool-guard.ts gives. The fallback gets the
 * input through a pipe opened in list form (no shell); after a timeout it is told not to ask
 * the silent supervisor again (no TABCREW_SOCKET), so the hook ends within Claude Code's 10 s.
 */
export const PRE_TOOL_USE_PL = [
  'umask 077; my ($node, $hook) = @ARGV;',
  'my $in = do { local $/; <STDIN> }; $in = "" unless defined $in;',
  'my ($s, $n, $k) = @ENV{qw(TABCREW_SOCKET TABCREW_AGENT TABCREW_SECRET_FILE)};',
  'my $l = $ENV{TABCREW_LAUNCH}; $l = "" unless defined $l; $l =~ s/[^\\w.-]//g; $l = substr($l, 0, 64);',
  'my $bd = defined $ENV{TABCREW_BOUNDARIES} && length $ENV{TABCREW_BOUNDARIES} ? "true" : "false";',
  'my ($got, $late) = ("", 0);',
  `if ($s && $n && $k && length($in) <= ${PRE_TOOL_USE_MAX_INPUT} && open(my $kf, "<", $k)) {`,
  'my $sec = do { local $/; <$kf> }; $sec = "" unless defined $sec; $sec =~ s/^\\s+|\\s+$//g;',
  'for ($n, $sec) { s/([\\\\"])/\\\\$1/g; s/[\\x00-\\x1f]//g }',
  'my $addr = $^O eq "darwin" ? pack("CCa104", 106, 1, $s) : pack("Sa108", 1, $s);',
  'if (length $sec && socket(my $c, 1, 1, 0)) { eval {',
  'local $SIG{ALRM} = sub { die "late\\n" }; alarm 3;',
  'if (connect($c, $addr) && syswrite($c, qq({"id":1,"agent":"$n","secret":"$sec","method":"pre_tool_use","params":{"launch":"$l","boundaries":$bd,"input_hex":") . unpack("H*", $in) . qq("}}\\n))) {',
  'while (sysread($c, my $chunk, 65536)) { $got .= $chunk; last if $got =~ /\\n/ } }',
  'alarm 0 }; $late = $@ eq "late\\n" } }',
  'if ($got =~ /^\\{"id":1,"ok":true,"result":\\{"record_hex":"((?:[0-9a-f]{2})*)","stdout_hex":"((?:[0-9a-f]{2})*)"\\}\\}\\n/) {',
  'my ($rec, $out) = (pack("H*", $1), pack("H*", $2));',
  'if (length $rec && $ENV{TABCREW_EVENTS} && open(my $f, ">>", $ENV{TABCREW_EVENTS})) { syswrite($f, $rec); close($f) }',
  'syswrite(STDOUT, $out) if length $out; exit 0 }',
  'delete $ENV{TABCREW_SOCKET} if $late; $SIG{PIPE} = "IGNORE";',
  'exit 0 unless $node && $hook && open(my $p, "|-", $node, $hook);',
  'print $p $in; close($p); exit 0;',
].join(' ');

/** The program for one event. */
export function hookExec(event: string, runner: HookRunner): HookExec {
  if (NODE_EVENTS.has(event) || !runner.perl) return { command: runner.node, args: [runner.hook] };
  // `--`: the paths are the program's arguments, never perl's own switches.
  if (event === 'PreToolUse') return { command: runner.perl, args: ['-e', PRE_TOOL_USE_PL, '--', runner.node, runner.hook] };
  return { command: runner.perl, args: ['-e', event === 'Stop' ? `${SPOOL_APPEND_PL} ${COUNT_USAGE_PL}` : SPOOL_APPEND_PL] };
}
