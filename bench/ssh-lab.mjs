/**
 * Real hosts, for the nodes bench scenario and (typed by test/support/ssh-hosts.ts) the crew
 * tests: plain JavaScript because the bench runs plain node on dist/. Each host is an OpenSSH
 * `sshd` on 127.0.0.1 (random high port, its own host key and sshd_config, `-D -e`) inside
 * its own mount, PID and UTS namespace (`unshare`), with a private /root (HOME: tabcrew
 * state) and a private /tmp (its tmux server). The network namespace is shared.
 *
 * `unshare --fork` ignores SIGTERM: a host is stopped with SIGKILL, and `--kill-child`
 * then takes sshd (PID 1 of the namespace) and every process of the host down with it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO as CHECKOUT_DIR } from './support.mjs';

/** This checkout (realpath): the nodes run its dist/cli.js and node_modules. */
const REPO = realpathSync(CHECKOUT_DIR);

const SSHD = '/usr/sbin/sshd';

/** Why this machine cannot run the hosts (a note for a null metric), or undefined when it can. */
export function sshLabMissing() {
  const missing = [];
  try {
    accessSync(SSHD, constants.X_OK);
  } catch {
    missing.push(`${SSHD} (Debian: apt-get install openssh-server)`);
  }
  for (const tool of ['ssh', 'ssh-keygen', 'unshare']) {
    try {
      execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
    } catch {
      missing.push(tool);
    }
  }
  if (process.getuid?.() !== 0) missing.push('root (unshare --mount --pid needs it)');
  return missing.length ? `needs ${missing.join(', ')}` : undefined;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const keygen = (file) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tabcrew-lab', '-f', file]);

export function sshLab(base) {
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
  const hosts = [];
  const procs = new Map();

  async function addHost(name) {
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

    const start = async () => {
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
          REPO.startsWith('/tmp/') ? REPO : '',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      procs.set(name, child);
      let log = '';
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sshd of ${name} did not start: ${log}`)), 20_000);
        child.stderr.on('data', (d) => {
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
    const kill = async () => {
      const child = procs.get(name);
      procs.delete(name);
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    };
    await start();
    const host = { name, port, root, url: `ssh://root@127.0.0.1:${port}`, hostKey, kill, start };
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
