import { readFileSync } from 'node:fs';
import { sandboxMode, type Config } from '../config.js';
import { BWRAP_FIX, chooseSandbox, sandboxKindFor } from '../claude/sandbox-host.js';
import type { Check } from './doctor-check.js';

/** A sysctl's value, or undefined where this kernel has none. */
function sysctl(name: string, read = (f: string) => readFileSync(f, 'utf8')): string | undefined {
  try {
    return read(`/proc/sys/${name.replaceAll('.', '/')}`).trim();
  } catch {
    return undefined;
  }
}

/** What stops an unprivileged process from creating a user namespace here, with the fix; empty when nothing does. */
export function userNamespaceProblems(read?: (f: string) => string): { problem: string; fix: string }[] {
  const out: { problem: string; fix: string }[] = [];
  if (sysctl('kernel.unprivileged_userns_clone', read) === '0')
    out.push({ problem: 'kernel.unprivileged_userns_clone is 0', fix: 'sysctl -w kernel.unprivileged_userns_clone=1 (and in /etc/sysctl.d/ to keep it)' });
  if (sysctl('user.max_user_namespaces', read) === '0')
    out.push({ problem: 'user.max_user_namespaces is 0', fix: 'sysctl -w user.max_user_namespaces=15000 (and in /etc/sysctl.d/ to keep it)' });
  if (sysctl('kernel.apparmor_restrict_unprivileged_userns', read) === '1')
    out.push({
      problem: 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)',
      fix: 'give bwrap an AppArmor profile that allows userns (Ubuntu: the bwrap-userns-restrict profile), or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0',
    });
  return out;
}

/** `doctor`: the OS sandbox agents run in (claude/sandbox.ts), and on Linux whether user namespaces are allowed. */
export function checkSandbox(config: Config, platform: NodeJS.Platform = process.platform, uid = process.getuid?.() ?? -1): Check[] {
  const mode = sandboxMode(config);
  if (mode === 'off') return [{ check: 'sandbox', status: 'n/a', detail: '--sandbox off: agents run without an OS sandbox' }];
  const kind = sandboxKindFor(platform);
  const choice = chooseSandbox(mode, { program: config.sandboxProgram, platform });
  const checks: Check[] = [];
  if (choice.kind) checks.push({ check: 'sandbox', status: 'ok', detail: choice.summary });
  else
    checks.push({
      check: 'sandbox',
      status: mode === 'on' ? 'fail' : 'warn',
      detail: choice.refusal ?? choice.summary,
      fix:
        kind === 'bubblewrap'
          ? BWRAP_FIX
          : kind
            ? 'sandbox-exec comes with macOS: check /usr/bin/sandbox-exec'
            : 'no OS sandbox on this platform: run with --sandbox off',
    });
  if (platform === 'linux') {
    const problems = userNamespaceProblems();
    if (uid === 0) checks.push({ check: 'user namespaces', status: 'ok', detail: 'running as root: bubblewrap needs no unprivileged user namespace' });
    else if (!problems.length) checks.push({ check: 'user namespaces', status: 'ok', detail: 'unprivileged user namespaces are allowed' });
    else
      checks.push({
        check: 'user namespaces',
        // A setuid bwrap works without them: then this is only a warning.
        status: choice.kind ? 'warn' : mode === 'on' ? 'fail' : 'warn',
        detail: problems.map((p) => p.problem).join('; '),
        fix: problems.map((p) => p.fix).join('; '),
      });
  }
  return checks;
}
