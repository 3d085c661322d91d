import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../support/tabcrew.js';
import { REPO, isolated, runCli, testEnv } from './run-cli.js';

const bases: string[] = [];
const temp = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  bases.push(d);
  return d;
};
afterAll(() => {
  for (const b of bases) rmSync(b, { recursive: true, force: true });
});

type Message = Record<string, any>;

/** The key from the key file of this HOME only: no TABCREW_STATE_KEY, no XDG_CONFIG_HOME. */
const keyFileEnv = (home: string, extra: Record<string, string> = {}) => testEnv(home, { TABCREW_STATE_KEY: '', XDG_CONFIG_HOME: '', ...extra });

/** A client's session with `tabcrew serve`: requests in, every answer and notification out, until it closes stdin. */
function session(flags: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, 'serve', ...flags], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const messages: Message[] = [];
  let buf = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0; buf = buf.slice(i + 1)) messages.push(JSON.parse(buf.slice(0, i)) as Message);
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    messages,
    stderr: () => stderr,
    send: (...ms: Message[]) => child.stdin!.write(ms.map((m) => `${JSON.stringify(m)}\n`).join('')),
    async until(found: () => Message | undefined): Promise<Message> {
      for (let i = 0; i < 600; i++) {
        const m = found();
        if (m) return m;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`not received; stdout: ${JSON.stringify(messages).slice(0, 500)}…; stderr: ${stderr}`);
    },
    async stop(): Promise<number | null> {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

describe('a start-up failure after the handshake', () => {
  for (const fast of [true, false]) {
    it(`reaches the client as an MCP log message and as every tool call's error, naming the key source, the HOME and the fix (${fast ? 'fast handshake' : 'full server'})`, async () => {
      const dirs = isolated(temp('tabcrew-startup-'));
      // The state is made under one HOME, whose key file gets the key…
      const firstHome = temp('tabcrew-home-first-');
      const made = await runCli(['status', ...dirs.flags], keyFileEnv(firstHome));
      expect(made.code).toBe(0);
      expect(existsSync(join(firstHome, '.config', 'tabcrew', 'state.key'))).toBe(true);
      // …and a client starts the server under another HOME, where no key is.
      const clientHome = temp('tabcrew-home-client-');
      const s = session(dirs.flags, keyFileEnv(clientHome, fast ? {} : { TABCREW_FAST_HANDSHAKE: '0' }));
      s.send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'startup-test', version: '1' } },
      });
      await s.until(() => s.messages.find((m) => m.id === 1));
      s.send({ jsonrpc: '2.0', method: 'notifications/initialized' }, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
      const tools = await s.until(() => s.messages.find((m) => m.id === 2));
      expect(tools.result.tools.length).toBeGreaterThan(5);

      const logged = await s.until(() => s.messages.find((m) => m.method === 'notifications/message'));
      expect(logged.params.level).toBe('error');
      const reason = String(logged.params.data);
      expect(reason).toMatch(/^tabcrew could not start, so no tool can run: The state in .* is encrypted/);
      expect(reason).toContain(`--key-source auto`);
      expect(reason).toContain(`HOME=${clientHome}`);
      expect(reason).toContain(join(clientHome, '.config', 'tabcrew', 'state.key'));
      expect(reason).toMatch(/--key-file <that HOME>\/\.config\/tabcrew\/state\.key, or TABCREW_STATE_KEY=.*--state-dir/);

      // The server stays up: a tool call answers with the reason instead of a closed connection.
      s.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_sessions', arguments: {} } });
      const call = await s.until(() => s.messages.find((m) => m.id === 3));
      expect(call.result.isError).toBe(true);
      expect(call.result.content[0].text).toContain(reason);

      expect(await s.stop()).toBe(1);
      expect(s.stderr()).toContain(`tabcrew: ${reason}\n`);
      expect(s.stderr()).not.toMatch(/\n\s+at /);
      const log = readFileSync(join(dirs.base, 'logs', 'tabcrew.log'), 'utf8');
      expect(log).toContain('"message":"start-up failed"');
      expect(log).toContain(`HOME=${clientHome}`);
    }, 120_000);
  }

  it('a bad roles file, once the entry has answered the handshake, reaches the client the same way', async () => {
    const dirs = isolated(temp('tabcrew-startup-roles-'));
    const file = join(dirs.base, 'roles.yaml');
    writeFileSync(file, 'roles:\n  - id: sre\n    title: Site reliability\n');
    const s = session([...dirs.flags, '--roles-file', file], testEnv(temp('tabcrew-home-roles-')));
    s.send(
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_sessions', arguments: {} } },
    );
    const call = await s.until(() => s.messages.find((m) => m.id === 3));
    expect(call.result.isError).toBe(true);
    expect(call.result.content[0].text).toContain(`tabcrew could not start, so no tool can run: --roles-file ${file}: roles.0.guidance:`);
    expect(await s.stop()).toBe(1);
  }, 60_000);
});
