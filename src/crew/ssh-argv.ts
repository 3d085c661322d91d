import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshNodeSpec } from './node-spec.js';

export interface SshOptions {
  /** `ssh -F FILE` (--ssh-config / TABCREW_SSH_CONFIG); otherwise the user's ~/.ssh/config applies. */
  configFile?: string;
  /** Where the ControlMaster sockets live (a private directory). */
  controlDir: string;
  /** The system ssh; `ssh` from PATH unless given. */
  ssh?: string;
}

// A unix socket path is limited to ~108 bytes and ssh's %C (a hash of host, port, user)
// takes 40: the sockets live in the runtime dir when that is short enough, else in a
// private directory under the system temp dir.
export function controlDir(runtimeDir: string): string {
  let dir = join(runtimeDir, 'ssh');
  if (dir.length + 41 > 100) {
    const tag = createHash('sha256').update(runtimeDir).digest('hex').slice(0, 10);
    dir = join(tmpdir(), `tabcrew-ssh-${process.getuid?.() ?? 0}-${tag}`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

/**
 * The argv for `ssh` to one node. Every value comes from a validated NodeSpec (no leading
 * '-', no spaces) and the host follows `--`, so nothing can become an ssh option.
 * - BatchMode: never a password or passphrase prompt (there is no person on our stdin).
 * - StrictHostKeyChecking=yes: the host key must already be in known_hosts; an unknown
 *   or changed key ends the connection with ssh's own error, never a silent accept.
 * - ControlMaster/ControlPersist: the MCP session, `tabcrew doctor --node` and reconnects
 *   share one TCP+auth handshake.
 * - ServerAlive*: a node that vanishes without a FIN (power loss) is noticed in ~15 s.
 * The user's ssh config still applies for everything not set here (user, key, proxy).
 */
export function sshArgv(node: SshNodeSpec, opts: SshOptions, remote: string[]): string[] {
  const argv = [
    ...(opts.configFile ? ['-F', opts.configFile] : []),
    '-T',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${join(opts.controlDir, '%C')}`,
    '-o',
    'ControlPersist=60',
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=3',
    '-o',
    'ConnectTimeout=10',
    ...(node.port ? ['-p', String(node.port)] : []),
    ...(node.user ? ['-l', node.user] : []),
    '--',
    node.host,
    ...remote,
  ];
  return argv;
}

/** What to tell a person about an ssh failure, from ssh's own words. */
export function sshFix(node: SshNodeSpec, stderr: string): string {
  const target = `${node.user ? `${node.user}@` : ''}${node.host}${node.port ? ` -p ${node.port}` : ''}`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|host key .* differs|No .*host key is known/i.test(stderr)) {
    return `the host key of ${node.host} is not the one in known_hosts (or none is known): check with its administrator that the key changed on purpose, then update known_hosts (ssh-keygen -R ${node.host}; ssh ${target} once by hand). tabcrew never accepts a host key by itself.`;
  }
  if (/Permission denied/i.test(stderr))
    return `ssh refused the login: make sure your key is in ~/.ssh/authorized_keys on ${node.host} and loaded (ssh-add), then try ssh ${target}.`;
  if (/Connection refused|No route to host|timed out|Could not resolve|Name or service not known|Connection closed|Connection reset/i.test(stderr)) {
    return `${node.host} is not reachable over ssh: check that it is up and sshd runs there (ssh ${target}); tabcrew keeps retrying.`;
  }
  if (/command not found|No such file/i.test(stderr))
    return `the node command did not start on ${node.name}: install tabcrew there or give the right command (--node-command, or "command" in the nodes file).`;
  return `run tabcrew doctor --node ${node.name} for a check of ssh, tabcrew, tmux and claude on it.`;
}
