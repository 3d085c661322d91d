import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
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

/** Characters of a control socket's own name (a hash of the connection, like ssh's %C but shorter). */
export const SOCKET_NAME_CHARS = 16;
/** ssh binds the master's socket first as `<ControlPath>.<16 random characters>`, then renames it. */
const SSH_TEMP_SUFFIX_CHARS = 17;

/** The size of `sun_path`, NUL included: 108 bytes on Linux, 104 on macOS and the BSDs. */
export function sunPathBytes(platform: NodeJS.Platform = process.platform): number {
  return platform === 'linux' ? 108 : 104;
}

/** The longest name ssh binds for a control socket in `dir`, plus the NUL: what must fit in sun_path. */
export function controlSocketBytes(dir: string): number {
  return Buffer.byteLength(dir) + 1 + SOCKET_NAME_CHARS + SSH_TEMP_SUFFIX_CHARS + 1;
}

export interface ControlDirHost {
  platform: NodeJS.Platform;
  tmpdir: string;
  uid: number;
}

const thisHost = (): ControlDirHost => ({ platform: process.platform, tmpdir: tmpdir(), uid: process.getuid?.() ?? 0 });

/**
 * Where the control sockets of `runtimeDir` go, first that fits: `<runtime>/ssh`, then a
 * private directory under the temp dir, then under /tmp (a Mac's temp dir, `/var/folders/…/T/`,
 * is itself too long). A path ssh cannot take as one ControlPath word (a space, a quote) is
 * passed over too.
 */
export function controlDirCandidates(runtimeDir: string, host: ControlDirHost = thisHost()): { dir: string; shared: boolean }[] {
  const tag = createHash('sha256').update(runtimeDir).digest('hex').slice(0, 10);
  const name = `tabcrew-ssh-${host.uid}-${tag}`;
  return [
    { dir: join(runtimeDir, 'ssh'), shared: false },
    { dir: join(host.tmpdir, name), shared: true },
    { dir: join('/tmp', name), shared: true },
  ];
}

export function pickControlDir(runtimeDir: string, host: ControlDirHost = thisHost()): { dir: string; shared: boolean } {
  const limit = sunPathBytes(host.platform);
  const fits = (c: { dir: string }) => controlSocketBytes(c.dir) <= limit && !/[\s"'\\]/.test(c.dir);
  const pick = controlDirCandidates(runtimeDir, host).find(fits);
  if (!pick) throw new Error(`no directory for ssh control sockets is short enough for a unix socket (${limit} bytes): pass a shorter --runtime-dir.`);
  return pick;
}

// A unix socket path is limited to sun_path (108 bytes on Linux, 104 on macOS), and ssh binds
// a temporary name 17 characters longer than ControlPath first: past that, every node is down
// with "unix_listener: path … too long for Unix domain socket".
export function controlDir(runtimeDir: string, host: ControlDirHost = thisHost()): string {
  const { dir, shared } = pickControlDir(runtimeDir, host);
  if (!shared) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    return dir;
  }
  // Under a temp dir others can write to (/tmp), the name may have been taken first: use it
  // only if it is our own real directory (not a link), then make it private.
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory() || st.isSymbolicLink() || st.uid !== host.uid) {
    throw new Error(`${dir} (for ssh control sockets) is not a directory of this user: remove it, or pass a shorter --runtime-dir so the sockets stay in it.`);
  }
  chmodSync(dir, 0o700);
  return dir;
}

/** The control socket's name for one connection: what ssh's %C hashes (user, host, port), plus the config file, in fewer characters. */
export function controlSocketName(node: Pick<SshNodeSpec, 'user' | 'host' | 'port'>, configFile?: string): string {
  return createHash('sha256')
    .update(JSON.stringify([configFile ?? null, node.user ?? null, node.host, node.port ?? null]))
    .digest('hex')
    .slice(0, SOCKET_NAME_CHARS);
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
    `ControlPath=${join(opts.controlDir, controlSocketName(node, opts.configFile)).replaceAll('%', '%%')}`,
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
