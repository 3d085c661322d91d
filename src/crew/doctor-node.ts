import { execFile } from 'node:child_process';
import { version } from '../version.js';
import { NodeLink } from './node-link.js';
import type { HttpNodeSpec, SshNodeSpec } from './node-spec.js';
import { sshArgv, sshFix, type SshOptions } from './ssh-argv.js';

export interface NodeCheck {
  check: string;
  status: 'ok' | 'warn' | 'fail' | 'skipped';
  detail: string;
  fix?: string;
}

function overSsh(node: SshNodeSpec, ssh: SshOptions, remote: string[], timeoutMs = 20_000): Promise<{ ok: boolean; out: string; err: string; code?: number }> {
  return new Promise((resolve) => {
    execFile(ssh.ssh ?? 'ssh', sshArgv(node, ssh, remote), { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 1 << 20 }, (e, out, err) => {
      const code = e ? (typeof (e as NodeJS.ErrnoException).code === 'number' ? ((e as unknown as { code: number }).code as number) : 255) : 0;
      resolve({ ok: !e, out: out.trim(), err: err.trim(), code });
    });
  });
}

const first = (s: string): string => s.split('\n').find((l) => l.trim() && !/^@+$/.test(l.trim())) ?? '';

/**
 * `tabcrew doctor --node N`: ssh, then the node's tabcrew (an MCP handshake with the node
 * command, as the front makes it), tmux and Claude Code on the node's PATH. ssh exits 255
 * for its own failures; any other status is the remote command's.
 */
export async function doctorNode(node: SshNodeSpec, ssh: SshOptions): Promise<NodeCheck[]> {
  const checks: NodeCheck[] = [];
  const reach = await overSsh(node, ssh, ['true']);
  if (!reach.ok) {
    checks.push({ check: 'ssh', status: 'fail', detail: first(reach.err) || `ssh exited with ${reach.code}`, fix: sshFix(node, reach.err) });
    for (const check of ['tabcrew', 'tmux', 'claude']) checks.push({ check, status: 'skipped', detail: 'ssh does not connect' });
    return checks;
  }
  checks.push({
    check: 'ssh',
    status: 'ok',
    detail: `connected to ${node.user ? `${node.user}@` : ''}${node.host}${node.port ? `:${node.port}` : ''}, host key verified`,
  });

  const link = new NodeLink(node, { ssh, frontVersion: version, reconnect: false });
  await link.connect();
  const r = link.report();
  await link.close();
  if (r.state === 'up') {
    checks.push({
      check: 'tabcrew',
      status: r.version_note ? 'warn' : 'ok',
      detail: `tabcrew ${r.version} answers "${node.command}"${r.version_note ? `; ${r.version_note}` : ''}`,
      ...(r.version_note ? { fix: `install tabcrew ${version} on ${node.name}` } : {}),
    });
  } else {
    checks.push({
      check: 'tabcrew',
      status: 'fail',
      detail: r.last_error ?? `the node command "${node.command}" did not answer`,
      fix: r.fix ?? `install tabcrew on ${node.name} (npm install -g tabcrew) or set the node command`,
    });
  }

  const tmux = await overSsh(node, ssh, ['tmux', '-V']);
  checks.push(
    tmux.ok
      ? { check: 'tmux', status: 'ok', detail: tmux.out }
      : {
          check: 'tmux',
          status: 'fail',
          detail: first(tmux.err) || 'tmux is not on the PATH of the node shell',
          fix: `install tmux on ${node.name} (apt-get install tmux / brew install tmux)`,
        },
  );
  const claude = await overSsh(node, ssh, ['claude', '--version'], 40_000);
  checks.push(
    claude.ok
      ? { check: 'claude', status: 'ok', detail: first(claude.out) }
      : {
          check: 'claude',
          status: 'warn',
          detail: `no claude on the PATH of the node shell (${first(claude.err) || `exit ${claude.code}`})`,
          fix: `install Claude Code on ${node.name} (npm install -g @anthropic-ai/claude-code), or give its path in the node command (TABCREW_CLAUDE_PATH=… tabcrew serve); a tabcrew checkout there falls back to its own node_modules/.bin/claude`,
        },
  );
  return checks;
}

/**
 * `tabcrew doctor --node N` for a node reached over HTTP: the one check the front can make
 * from here is the link itself (reachable, certificate, token, version); tmux and Claude Code
 * are the node's own `tabcrew doctor`.
 */
export async function doctorHttpNode(node: HttpNodeSpec, ssh: SshOptions): Promise<NodeCheck[]> {
  const link = new NodeLink(node, { ssh, frontVersion: version, reconnect: false });
  await link.connect();
  const r = link.report();
  await link.close();
  const skipped = (check: string): NodeCheck => ({ check, status: 'skipped', detail: `run tabcrew doctor on ${node.name} itself (reached over HTTP)` });
  if (r.state !== 'up')
    return [
      { check: 'tabcrew', status: 'fail', detail: r.last_error ?? `${node.url} did not answer`, fix: r.fix ?? `check tabcrew serve --http on ${node.name}` },
      skipped('tmux'),
      skipped('claude'),
    ];
  return [
    {
      check: 'tabcrew',
      status: r.version_note ? 'warn' : 'ok',
      detail: `tabcrew ${r.version} answers at ${node.url}${node.tls ? `, certificate ${node.trust.kind === 'ca' ? 'verified by the CA' : 'matches the pinned fingerprint'}` : ''}, token accepted${r.version_note ? `; ${r.version_note}` : ''}`,
      ...(r.version_note ? { fix: `install tabcrew ${version} on ${node.name}` } : {}),
    },
    skipped('tmux'),
    skipped('claude'),
  ];
}
