/**
 * Real hosts for the crew tests: each is an OpenSSH `sshd` on 127.0.0.1 (random high port,
 * its own host key and sshd_config, `-D -e`) inside its own mount, PID and UTS namespace
 * (`unshare`), with a private /root (its HOME: tabcrew state, Claude Code's config and
 * transcripts) and a private /tmp (its tmux server). The network namespace is shared, so
 * the mock Anthropic API on 127.0.0.1 is reachable from every host.
 *
 * `unshare --fork` ignores SIGTERM: a host is stopped with SIGKILL, and `--kill-child`
 * then takes sshd (PID 1 of the namespace) and with it every process of the host down.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** This checkout (realpath): the nodes run its dist/cli.js and node_modules. */
const CHECKOUT = realpathSync(resolve(import.meta.dirname, '../..'));

export interface SshHost {
  name: string;
  port: number;
  /** Host-side directory that is /root inside the host. */
  root: string;
  url: string;
  /** The host's public key, as known_hosts wants it after "[127.0.0.1]:port ". */
  hostKey: string;
  /** SIGKILL: the host and everything on it (sshd, tabcrew, tmux, Claude Code) is gone. */
  kill(): Promise<void>;
  /** Starts sshd again on the same port, with the same key and files. */
  start(): Promise<void>;
}

export interface SshLab {
  base: string;
  /** ssh -F file: client key, known_hosts; ControlMaster etc. come from tabcrew's argv. */
  sshConfig: string;
  knownHosts: string;
  hosts: SshHost[];
  addHost(name: string): Promise<SshHost>;
  /** Kills every host. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const keygen = (file: string): void => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tabcrew-test', '-f', file]);
};

export function sshLab(base: string): SshLab {
  mkdirSync(base, { recursive: true });
  const clientKey = join(base, 'client_key');
  keygen(clientKey);
  const knownHosts = join(base, 'known_hosts');
  writeFileSync(knownHosts, '');
  const sshConfig = join(base, 'ssh_config');
  writeFileSync(
    sshConfig,
    `Host *\n  IdentityFile ${clientKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${knownHosts}\n  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n`,
  );
  // sshd's privilege separation directory (shared by all hosts; sshd refuses to start without it).
  mkdirSync('/run/sshd', { recursive: true });
  const hosts: SshHost[] = [];
  const procs = new Map<string, ChildProcess>();

  async function addHost(name: string): Promise<SshHost> {
    const dir = join(base, name);
    const root = join(dir, 'root');
    const tmp = join(dir, 'tmp');
    mkdirSync(join(tmp, 'sshd'), { recursive: true });
    mkdirSync(root, { recursive: true });
    chmodSync(tmp, 0o1777);
    const port = await freePort();
    keygen(join(tmp, 'sshd', 'host_key'));
    writeFileSync(join(tmp, 'sshd', 'authorized_keys'), readFileSync(`${clientKey}.pub`));
    // Paths as seen inside the host, where this dir is /tmp.
    writeFileSync(
      join(tmp, 'sshd', 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        'HostKey /tmp/sshd/host_key',
        'AuthorizedKeysFile /tmp/sshd/authorized_keys',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PidFile none',
        '',
      ].join('\n'),
    );
    const hostKey = readFileSync(join(tmp, 'sshd', 'host_key.pub'), 'utf8')
      .trim()
      .split(' ')
      .slice(0, 2)
      .join(' ');
    writeFileSync(knownHosts, `${readFileSync(knownHosts, 'utf8')}[127.0.0.1]:${port} ${hostKey}\n`);

    const start = async (): Promise<void> => {
      // Directories and the name arrive as positional parameters: nothing is spliced into the script.
      const child = spawn(
        'unshare',
        [
          '--mount',
          '--pid',
          '--uts',
          '--fork',
          '--kill-child',
          '--mount-proc',
          'sh',
          '-c',
          // A checkout under /tmp (a CI clone) would vanish under the private /tmp: it is carried
          // through /root and bound back at its own path, so the node runs this checkout's tabcrew.
          'mount --bind "$1" /root && { [ -z "$4" ] || { mkdir -p /root/.checkout && mount --bind "$4" /root/.checkout; }; } && mount --bind "$2" /tmp && { [ -z "$4" ] || { mkdir -p "$4" && mount --bind /root/.checkout "$4"; }; } && hostname "$3" && exec /usr/sbin/sshd -D -e -f /tmp/sshd/sshd_config',
          'sh',
          root,
          tmp,
          name,
          CHECKOUT.startsWith('/tmp/') ? CHECKOUT : '',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      procs.set(name, child);
      let log = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sshd of ${name} did not start: ${log}`)), 20_000);
        child.stderr!.on('data', (d: Buffer) => {
          log += d.toString();
          if (log.includes('Server listening')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`sshd of ${name} exited (${code}): ${log}`));
        });
      });
    };
    const kill = async (): Promise<void> => {
      const child = procs.get(name);
      procs.delete(name);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    };
    await start();
    const host: SshHost = { name, port, root, url: `ssh://root@127.0.0.1:${port}`, hostKey, kill, start };
    hosts.push(host);
    return host;
  }

  return {
    base,
    sshConfig,
    knownHosts,
    hosts,
    addHost,
    async stop() {
      await Promise.all(hosts.map((h) => h.kill()));
    },
  };
}
