import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { isConversationRequest, startMockAnthropic, type MockAnthropic, type RecordedRequest } from '../support/mock-anthropic.js';
import { pickControlDir } from '../../src/crew/ssh-argv.js';
import { sshLab, type SshHost, type SshLab } from '../support/ssh-hosts.js';
import { CLI, startTabcrew, TEST_STATE_KEY, type Crew } from '../support/tabcrew.js';
import { until as waitUntil } from '../support/until.js';

/**
 * A crew on three machines: this one (the front) and two hosts reached over real OpenSSH,
 * each an sshd in its own mount/PID/UTS namespace running this checkout's tabcrew with its
 * own state, tmux server and real Claude Code against the mock API.
 */
const run = promisify(execFile);
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-nodes-')));
const API_KEY = 'sk-ant-test-0123456789abcdefghij';
let mock: MockAnthropic;
let lab: SshLab;
let box1: SshHost;
let box2: SshHost;
let front: Crew;
let frontHome: ReturnType<typeof makeClaudeHome>;
let nodesFile: string;
/** What the front's client heard as MCP log messages (its own and the nodes', forwarded). */
const logs: { logger?: string; data: Record<string, unknown> }[] = [];

const text = (req: RecordedRequest): string => mock.lastUserText(req) ?? '';
const errorText = (r: { content?: unknown }): string => ((r.content as { text?: string }[]) ?? []).map((c) => c.text ?? '').join(' ');

const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> => waitUntil(what, probe, timeoutMs, 500);

type Outcome = { node: string; ok: boolean; error?: string };
const listing = async (): Promise<{ sessions: { name: string; node: string; agents: string[] }[]; nodes: Outcome[] }> =>
  (await front.ok('list_sessions')) as never;
const nodeOk = async (node: string, ok: boolean) =>
  until(`${node} ${ok ? 'up' : 'down'} in list_sessions`, async () => {
    const l = await listing();
    return l.nodes.find((n) => n.node === node)?.ok === ok ? l : undefined;
  });

/** What a node's shell runs: its settings come from a 0600 env file (no secret in ps), then this checkout's tabcrew. */
function prepareNode(host: SshHost): string {
  mkdirSync(join(host.root, 'app'), { recursive: true });
  const env = [
    `TABCREW_STATE_KEY=${TEST_STATE_KEY}`,
    `ANTHROPIC_BASE_URL=${mock.url}`,
    `ANTHROPIC_API_KEY=${API_KEY}`,
    'IS_SANDBOX=1',
    'DISABLE_AUTOUPDATER=1',
    'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1',
    'TERM=xterm-256color',
  ];
  writeFileSync(join(host.root, 'node.env'), env.join('\n') + '\n', { mode: 0o600 });
  // Claude Code's config in the host's HOME (/root): onboarding done, the key approved, /root trusted.
  const home = makeClaudeHome({ apiKey: API_KEY, baseUrl: mock.url, trustedDirs: ['/root'] });
  copyFileSync(join(home.home, '.claude.json'), join(host.root, '.claude.json'));
  home.cleanup();
  return [
    'set -a; . /root/node.env; set +a;',
    `exec ${process.execPath} ${CLI} serve --backend tmux --tmux-socket ${host.name}`,
    `--state-dir /root/state --log-dir /root/logs --runtime-dir /root/runtime --claude-path ${claudeBin}`,
  ].join(' ');
}

const startFront = (dirs?: Crew['dirs']) =>
  startTabcrew({ env: frontHome.env, args: ['--claude-path', claudeBin, '--nodes-file', nodesFile, '--ssh-config', lab.sshConfig], dirs });

beforeAll(async () => {
  mock = await startMockAnthropic({ reply: (req) => `Noted: ${text(req).split('\n').pop()}` });
  lab = sshLab(join(base, 'lab'));
  box1 = await lab.addHost('box1');
  box2 = await lab.addHost('box2');
  nodesFile = join(base, 'nodes.json');
  writeFileSync(nodesFile, JSON.stringify({ nodes: [box1, box2].map((h) => ({ name: h.name, url: h.url, command: prepareNode(h) })) }, null, 2));
  frontHome = makeClaudeHome({ apiKey: API_KEY, baseUrl: mock.url, trustedDirs: [base] });
  front = await startFront();
  front.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push({ logger: n.params.logger, data: n.params.data as never }));
  await nodeOk('box1', true);
  await nodeOk('box2', true);
}, 240_000);

afterAll(async () => {
  await front?.stop();
  await lab?.stop();
  await mock?.close();
  frontHome?.cleanup();
  rmSync(base, { recursive: true, force: true });
});

describe('a crew over OpenSSH behind one front', () => {
  it('list_sessions merges the local machine and both nodes, naming the node of each session', async () => {
    mkdirSync(join(base, 'here'));
    await front.ok('create_session', { root: join(base, 'here'), name: 'here' });
    expect(await front.ok('create_session', { node: 'box1', root: '/root/app', name: 'app1' })).toMatchObject({
      node: 'box1',
      name: 'app1',
      root: '/root/app',
    });
    await front.ok('create_session', { node: 'box2', root: '/root/app', name: 'app2' });
    const l = await listing();
    expect(l.sessions.map((s) => `${s.node}:${s.name}`).sort()).toEqual(['box1:app1', 'box2:app2', 'local:here']);
    expect(l.nodes).toEqual([
      { node: 'local', ok: true },
      { node: 'box1', ok: true },
      { node: 'box2', ok: true },
    ]);
  });

  it('a session name taken on another node is refused', async () => {
    const r = await front.call('create_session', { node: 'box2', root: '/root', name: 'app1' });
    expect(r.isError).toBe(true);
    expect(errorText(r)).toMatch(/session named "app1" already exists on box1.*unique across the crew/);
  });

  it('an agent created in a box1 session runs on box1 and a message reaches it through the mock API', async () => {
    const agent = await front.ok('create_agent', { session: 'app1' });
    expect(agent).toMatchObject({ agent: 'box1/Agent_1', node: 'box1', status: 'idle' });
    const r = await front.ok('send_message_to_agent', { agent: 'box1/Agent_1', message: 'remember box1-pear', wait_for_reply: true });
    expect(r).toMatchObject({ agent: 'box1/Agent_1', delivered: 'confirmed', reply: 'Noted: remember box1-pear' });
    expect(mock.requests.some((q) => isConversationRequest(q) && text(q).includes('remember box1-pear'))).toBe(true);
    // The agent's tmux server is box1's own: the front's tmux has no window of it.
    expect(front.windows()).toEqual([]);
    const l = await listing();
    expect(l.sessions.find((s) => s.name === 'app1')?.agents).toEqual(['box1/Agent_1']);
  });

  it("box1's tmux server killed (sshd and its tabcrew stay up): recover_session through the front brings its agent back in its conversation", async () => {
    // On the node itself, as a person with a shell there would: the node's private /tmp holds its tmux socket.
    await promisify(execFile)('ssh', ['-F', lab.sshConfig, '-p', String(box1.port), 'root@127.0.0.1', '--', 'tmux', '-L', 'box1', 'kill-server']);
    await until('box1/Agent_1 seen without its tab', async () => {
      const s = await front.ok('get_session_status', { session: 'app1' });
      return s.agents[0]?.status === 'idle' ? undefined : s;
    });
    const recovered = await front.ok('recover_session', { session: 'app1' });
    expect(recovered).toMatchObject({ failed: [] });
    expect(recovered.recovered).toEqual([expect.objectContaining({ agent: 'box1/Agent_1', action: 'resumed' })]);
    await until('box1/Agent_1 idle after recovery', async () => {
      const s = await front.ok('get_session_status', { session: 'app1' });
      return s.agents[0]?.status === 'idle' ? s : undefined;
    });
    const r = await front.ok('send_message_to_agent', { agent: 'box1/Agent_1', message: 'which fruit after tmux died?', wait_for_reply: true });
    expect(r).toMatchObject({ delivered: 'confirmed', reply: 'Noted: which fruit after tmux died?' });
    const req = mock.requests.filter((q) => isConversationRequest(q) && text(q).includes('which fruit after tmux died?')).pop()!;
    expect(JSON.stringify(req.body.messages)).toContain('remember box1-pear');
  });

  it("a node's status log messages reach the front's client, naming the node and the agent as the front shows it", async () => {
    // A slow turn: box1 sees its agent go busy when it next looks (a status call), and says so.
    mock.setReply((req) => ({ text: `Noted: ${text(req).split('\n').pop()}`, delayMs: 3000 }));
    await front.ok('send_message_to_agent', { agent: 'box1/Agent_1', message: 'a slow one' });
    const change = await until('a box1 status message', async () => {
      await front.ok('get_session_status', { session: 'app1' });
      return logs.find((l) => l.logger === 'tabcrew.status' && l.data.node === 'box1' && l.data.agent === 'box1/Agent_1');
    });
    mock.setReply((req) => `Noted: ${text(req).split('\n').pop()}`);
    expect(change.data).toMatchObject({ node: 'box1', agent: 'box1/Agent_1', session_id: expect.stringMatching(/^s-/) });
    expect(change.data.to).not.toContain('/');
    await until('box1/Agent_1 idle after the slow turn', async () => {
      const s = await front.ok('get_session_status', { session: 'app1' });
      return s.agents[0]?.status === 'idle' ? s : undefined;
    });
  });

  it('get_session_status without a session gives every session of every node in one call', async () => {
    type All = { sessions: { node: string; name: string; agents: { agent: string; status: string }[] }[]; nodes: Outcome[] };
    const all = (await front.ok('get_session_status')) as All;
    expect(all.sessions.map((s) => `${s.node}:${s.name}`).sort()).toEqual(['box1:app1', 'box2:app2', 'local:here']);
    expect(all.sessions.find((s) => s.name === 'app1')?.agents.map((a) => [a.agent, a.status])).toEqual([['box1/Agent_1', 'idle']]);
    expect(all.nodes.every((n) => n.ok)).toBe(true);
    // node "*" asks the same of every node; a tool that changes things refuses it.
    expect(((await front.ok('get_session_status', { node: '*' })) as All).sessions).toHaveLength(3);
    const r = await front.call('create_session', { node: '*', root: '/root' });
    expect(r.isError).toBe(true);
    expect(errorText(r)).toMatch(/read-only tools; create_session changes things/);
  });

  it("a node's agent screen is a resource of the front, read from that node", async () => {
    const { resources } = await front.client.listResources();
    expect(resources.map((r) => r.uri)).toContain('tabcrew://nodes/box1/agents/Agent_1/screen');
    const r = await front.client.readResource({ uri: 'tabcrew://nodes/box1/agents/Agent_1/screen' });
    expect((r.contents[0] as { text: string }).text).toMatch(/Noted: /);
  });

  it("a subscription to a node's session status hears when its agent goes busy", async () => {
    const id = (await listing()).sessions.find((s) => s.name === 'app1') as unknown as { session_id: string };
    const uri = `tabcrew://nodes/box1/sessions/${id.session_id}/status`;
    const updates: string[] = [];
    front.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await front.client.subscribeResource({ uri });
    mock.setReply((req) => ({ text: `Noted: ${text(req).split('\n').pop()}`, delayMs: 5000 }));
    await front.ok('send_message_to_agent', { agent: 'box1/Agent_1', message: 'another slow one' });
    await until(`an update of ${uri}`, async () => (updates.includes(uri) ? true : undefined), 30_000);
    mock.setReply((req) => `Noted: ${text(req).split('\n').pop()}`);
    await front.client.unsubscribeResource({ uri });
    await until('box1/Agent_1 idle after the slow turn', async () => {
      const s = await front.ok('get_session_status', { session: 'app1' });
      return s.agents[0]?.status === 'idle' ? s : undefined;
    });
  });

  it('tabcrew nodes and tabcrew doctor --node report each node', async () => {
    const common = ['--nodes-file', nodesFile, '--ssh-config', lab.sshConfig, '--runtime-dir', join(base, 'cli-runtime'), '--json'];
    const { stdout } = await run(process.execPath, [CLI, 'nodes', ...common], { timeout: 120_000 }).catch((e: { stdout: string; stderr: string }) => {
      throw new Error(`tabcrew nodes failed: ${e.stdout} ${e.stderr}`);
    });
    const nodes = JSON.parse(stdout).nodes as { node: string; state: string; version: string; agents: number }[];
    expect(nodes.map((n) => [n.node, n.state, n.agents])).toEqual([
      ['box1', 'up', 1],
      ['box2', 'up', 0],
    ]);
    const doctor = JSON.parse((await run(process.execPath, [CLI, 'doctor', '--node', 'box2', ...common], { timeout: 120_000 })).stdout);
    const byCheck = Object.fromEntries((doctor.checks as { check: string; status: string }[]).map((c) => [c.check, c.status]));
    expect(byCheck).toMatchObject({ ssh: 'ok', tabcrew: 'ok', tmux: 'ok' });
  });

  it("nodes are reached with a runtime dir of 50 or 80 characters, and with a Mac's temp dir length, through ssh's control sockets", async () => {
    /** A directory under base whose path is exactly `n` characters. */
    const ofLength = (n: number, what: string): string => {
      const dir = join(base, what + 'x'.repeat(n - base.length - 1 - what.length));
      expect(dir).toHaveLength(n);
      return dir;
    };
    // A Mac's per-user temp dir: /var/folders/<2>/<30>/T is 48 characters.
    const macTmp = ofLength(48, 'T');
    mkdirSync(macTmp);
    const cases = [
      { runtime: ofLength(50, 'rt50-'), env: process.env },
      { runtime: ofLength(80, 'rt80-'), env: process.env },
      { runtime: ofLength(80, 'rt80m-'), env: { ...process.env, TMPDIR: macTmp } },
    ];
    for (const c of cases) {
      const args = [CLI, 'nodes', '--nodes-file', nodesFile, '--ssh-config', lab.sshConfig, '--runtime-dir', c.runtime, '--json'];
      const r = await run(process.execPath, args, { timeout: 120_000, env: c.env }).catch((e: { stdout: string }) => e);
      const nodes = JSON.parse(r.stdout).nodes as { node: string; state: string; last_error?: string }[];
      expect(
        nodes.map((n) => [n.node, n.state, n.last_error]),
        `runtime dir ${c.runtime.length} characters, TMPDIR ${c.env.TMPDIR ?? tmpdir()}`,
      ).toEqual([
        ['box1', 'up', undefined],
        ['box2', 'up', undefined],
      ]);
      // A fallback under the system temp dir is not under base: removed here (its masters end with the lab).
      const dir = pickControlDir(c.runtime, { platform: process.platform, tmpdir: c.env.TMPDIR ?? tmpdir(), uid: process.getuid!() }).dir;
      if (!dir.startsWith(base)) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a host key that changed is refused with the ssh error, never accepted', async () => {
    const bad = join(base, 'bad');
    mkdirSync(bad);
    // box2's port with box1's key: what a host that was replaced (or impersonated) shows.
    writeFileSync(join(bad, 'known_hosts'), `[127.0.0.1]:${box2.port} ${box1.hostKey}\n`);
    writeFileSync(
      join(bad, 'ssh_config'),
      `Host *\n  IdentityFile ${join(lab.base, 'client_key')}\n  UserKnownHostsFile ${join(bad, 'known_hosts')}\n  GlobalKnownHostsFile /dev/null\n`,
    );
    const r = await run(
      process.execPath,
      [CLI, 'nodes', '--node', `box2=${box2.url}`, '--ssh-config', join(bad, 'ssh_config'), '--runtime-dir', join(bad, 'rt'), '--json'],
      {
        timeout: 60_000,
      },
    ).catch((e: { stdout: string; code: number }) => e);
    expect((r as { code?: number }).code).toBe(1);
    const [node] = JSON.parse(r.stdout).nodes as { state: string; last_error: string; fix: string }[];
    expect(node.state).toBe('down');
    expect(node.last_error).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect(node.fix).toMatch(/never accepts a host key/);
  });

  it('a killed node is reported per node while the others answer, and calls to it fail at once', async () => {
    await box1.kill();
    const l = await nodeOk('box1', false);
    expect(l.nodes.find((n) => n.node === 'box1')?.error).toMatch(/node box1/);
    expect(l.sessions.map((s) => s.name).sort()).toEqual(['app2', 'here']);
    const r = await front.call('send_message_to_agent', { agent: 'box1/Agent_1', message: 'are you there?' });
    expect(r.isError).toBe(true);
    expect(errorText(r)).toMatch(/node box1 is (down|connecting)/);
    // Status of all: box1's part is its error, the others' sessions are there.
    const all = (await front.ok('get_session_status')) as { sessions: { node: string; name: string }[]; nodes: Outcome[] };
    expect(all.sessions.map((s) => `${s.node}:${s.name}`).sort()).toEqual(['box2:app2', 'local:here']);
    expect(all.nodes.find((n) => n.node === 'box1')).toMatchObject({ ok: false, error: expect.stringMatching(/node box1/) });
    // box2 still takes work.
    expect(await front.ok('get_session_status', { session: 'app2' })).toMatchObject({ node: 'box2', name: 'app2', agents: [] });
  });

  it('the node comes back (sshd restarted) and its agent is back in its conversation', async () => {
    await box1.start();
    await nodeOk('box1', true);
    await until('box1/Agent_1 idle again', async () => {
      const s = await front.call('get_session_status', { session: 'app1' });
      const a = (s.structuredContent as { agents?: { agent: string; status: string }[] } | undefined)?.agents?.[0];
      return a?.status === 'idle' ? a : undefined;
    });
    const r = await front.ok('send_message_to_agent', { agent: 'box1/Agent_1', message: 'what was the fruit?', wait_for_reply: true });
    expect(r).toMatchObject({ delivered: 'confirmed', reply: 'Noted: what was the fruit?' });
    const req = mock.requests.filter((q) => isConversationRequest(q) && text(q).includes('what was the fruit?')).pop()!;
    expect(JSON.stringify(req.body.messages)).toContain('remember box1-pear');
  });

  it('a restarted front adopts the nodes and routes by the sessions it kept', async () => {
    const dirs = front.dirs;
    await front.disconnect();
    front = await startFront(dirs);
    // Routed by the encrypted session map before any listing: box2 answers for app2.
    const s = await until('box2 answering for app2', async () => {
      const r = await front.call('get_session_status', { session: 'app2' });
      return r.isError ? undefined : r.structuredContent;
    });
    expect(s).toMatchObject({ node: 'box2', name: 'app2' });
    const l = await nodeOk('box1', true);
    expect(l.sessions.find((x) => x.name === 'app1')?.agents).toEqual(['box1/Agent_1']);
  });
});
