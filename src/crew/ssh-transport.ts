import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { LinkTransport, LinkTrouble } from './link-transport.js';
import { DEFAULT_NODE_COMMAND, type SshNodeSpec } from './node-spec.js';
import { sshArgv, sshFix, type SshOptions } from './ssh-argv.js';

const STDERR_KEEP = 4000;

/** `ssh … <node command>`, MCP on the channel's stdio; ssh's stderr says what went wrong. */
export class SshTransport implements LinkTransport {
  private stderr = '';

  constructor(
    private readonly spec: SshNodeSpec,
    private readonly ssh: SshOptions,
  ) {}

  url(): string {
    const s = this.spec;
    return `ssh://${s.user ? `${s.user}@` : ''}${s.host}${s.port ? `:${s.port}` : ''}`;
  }

  open(): Promise<Transport> {
    this.stderr = '';
    const transport = new StdioClientTransport({
      command: this.ssh.ssh ?? 'ssh',
      args: sshArgv(this.spec, this.ssh, [this.spec.command ?? DEFAULT_NODE_COMMAND]),
      // ssh needs the agent socket to use the user's keys; nothing else of ours goes to it.
      env: { ...getDefaultEnvironment(), ...(process.env.SSH_AUTH_SOCK ? { SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK } : {}) },
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-STDERR_KEEP);
    });
    return Promise.resolve(transport);
  }

  connected(): void {
    // From here on, what ssh prints is about this connection's end (the node's own stderr lines are skipped below).
    this.stderr = '';
  }

  /** ssh's own words, first: they say what was wrong (host key, auth, network). */
  trouble(_cause: unknown, fallback: string): LinkTrouble {
    const words = this.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/^@+$/.test(l) && !/^Warning: Permanently added/.test(l) && !l.startsWith('tabcrew:'));
    return {
      error: words.length ? `${words.slice(0, 3).join(' ')}${fallback ? ` (${fallback})` : ''}` : fallback,
      fix: sshFix(this.spec, this.stderr || fallback),
    };
  }
}
