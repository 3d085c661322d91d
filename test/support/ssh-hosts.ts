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
// One implementation for the tests and the bench (which runs plain node): this file types it.
import { sshLab as untypedSshLab } from '../../bench/ssh-lab.mjs';

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

/** A lab under `base` (its keys, ssh config and the hosts' files); hosts are added one by one. */
export const sshLab = untypedSshLab as (base: string) => SshLab;
