import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claudeBin, makeClaudeHome } from '../support/claude-home.js';
import { mockedHome, tearDown } from '../support/e2e-world.js';
import { isConversationRequest, startMockAnthropic, type MockAnthropic, type MockReplySpec, type RecordedRequest } from '../support/mock-anthropic.js';
import { startTabcrew, type Crew } from '../support/tabcrew.js';
import { until } from '../support/until.js';
import { runCli, testEnv } from '../cli/run-cli.js';

/**
 * coordinate_agents with real Claude Code agents. The mock API answers as the agent that
 * asks (its name is in the ADDER+ system prompt), so every collected reply can be traced
 * to the agent it came from; for a consensus it answers round 1 and the vote differently.
 */
const base = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-coord-')));
const root = join(base, 'app');
let mock: MockAnthropic;
let home: ReturnType<typeof makeClaudeHome>;
let crew: Crew;
let later: Crew | undefined;

function systemText(req: RecordedRequest): string {
  const sys = req.body?.system;
  if (typeof sys === 'string') return sys;
  return Array.isArray(sys) ? sys.map((b: { text?: string }) => b.text ?? '').join('\n') : '';
}
const agentOf = (req: RecordedRequest): string => /You are \*\*(Agent_\d+)\*\*/.exec(systemText(req))?.[1] ?? 'unknown';

/** How each agent votes in a consensus round 2. */
let votes: Record<string, number> = {};
let delayMs = 0;
/** Extra delay of one agent's replies (its turn takes that long). */
let slow: Record<string, number> = {};

function reply(req: RecordedRequest): string | MockReplySpec {
  if (!isConversationRequest(req)) return 'side';
  const agent = agentOf(req);
  const text = mock.lastUserText(req) ?? '';
  const wait = slow[agent] ?? delayMs;
  const spec = (t: string): MockReplySpec => ({ text: t, ...(wait ? { delayMs: wait } : {}) });
  if (text.includes('Consensus vote (coordination run')) return spec(`Answer ${votes[agent]} is the clearest.\nVOTE: ${votes[agent]}`);
  if (text.includes('consensus of')) return spec(`answer of ${agent}`);
  if (text.includes('step 1 of 2 of a pipeline')) return spec(`pipeline step by ${agent}: token-7f3a`);
  if (text.includes('of a pipeline')) return spec(`final step by ${agent}`);
  return spec(`reply from ${agent}`);
}

beforeAll(async () => {
  mkdirSync(root);
  mock = await startMockAnthropic({ reply });
  home = mockedHome(mock, [root]);
  crew = await startTabcrew({ env: home.env, args: ['--backend', 'tmux', '--claude-path', claudeBin, '--rate-limit-burst', '30'] });
  await crew.ok('create_session', { root, name: 'app' });
  await crew.ok('create_agent', { session: 'app', role: 'backend_developer' });
  await crew.ok('create_agent', { session: 'app', role: 'code_reviewer' });
  await crew.ok('create_agent', { session: 'app', role: 'keeps an eye on the logs' });
}, 400_000);

afterAll(() => tearDown([later, crew], mock, home, base));

describe('roles', () => {
  it('list_roles returns the ten built-in roles, each with a title and guidance', async () => {
    const { roles } = await crew.ok<{ roles: { id: string; title: string; guidance: string }[] }>('list_roles', {});
    expect(roles.map((r) => r.id)).toEqual([
      'general',
      'frontend_developer',
      'backend_developer',
      'testing_specialist',
      'documentation_writer',
      'code_reviewer',
      'architect',
      'debugger',
      'security_analyst',
      'data_analyst',
    ]);
    for (const r of roles) expect(r.title.length && r.guidance.length).toBeTruthy();
  });

  it('a role id puts its guidance into the agent prompt, and free text is shown as a custom role', async () => {
    const status = await crew.ok('get_session_status', { session: 'app' });
    const byName = Object.fromEntries(status.agents.map((a: any) => [a.agent, a]));
    expect(byName.Agent_1.role).toEqual({ id: 'backend_developer', title: 'Backend developer', custom: false });
    expect(byName.Agent_3.role).toEqual({ title: 'keeps an eye on the logs', custom: true });
    await crew.ok('coordinate_agents', { session: 'app', mode: 'parallel', task: 'say hello', agents: ['Agent_1'], timeout_s: 120 });
    const req = mock.conversationRequests().find((r) => agentOf(r) === 'Agent_1')!;
    expect(systemText(req)).toContain('## Your role: Backend developer');
    expect(systemText(req)).toContain('You own services, APIs, data models and storage.');
  });
});

describe('coordinate_agents', () => {
  it('parallel with three agents returns three replies, each from its own agent, with progress per agent', async () => {
    const progress: string[] = [];
    const run = await crew.ok(
      'coordinate_agents',
      { session: 'app', mode: 'parallel', task: 'Name yourself.', agents: ['Agent_1', 'Agent_2', 'Agent_3'], timeout_s: 180 },
      (m) => progress.push(m),
    );
    expect(run).toMatchObject({ mode: 'parallel', state: 'done', progress: { done: 3, total: 3 } });
    expect(run.results.map((r: any) => [r.agent, r.status, r.reply])).toEqual([
      ['Agent_1', 'done', 'reply from Agent_1'],
      ['Agent_2', 'done', 'reply from Agent_2'],
      ['Agent_3', 'done', 'reply from Agent_3'],
    ]);
    for (const r of run.results) expect(r.tokens.output).toBeGreaterThan(0);
    // A progress notice is sent as each agent replies; the last one may still be on its way when the result is.
    for (const a of ['Agent_1', 'Agent_2', 'Agent_3'])
      await until(`progress saying ${a} replied`, async () => progress.some((m) => m.includes(`${a} replied`)) || undefined, 5_000);
    const shown = await crew.ok('get_coordination', { run_id: run.run_id });
    expect(shown.results).toEqual(run.results);
  });

  it('sequential passes the first agent reply on inside the second agent API request', async () => {
    const run = await crew.ok('coordinate_agents', {
      session: 'app',
      mode: 'sequential',
      task: 'Refine the plan.',
      agents: ['Agent_2', 'Agent_1'],
      timeout_s: 180,
    });
    expect(run.state).toBe('done');
    expect(run.results.map((r: any) => r.reply)).toEqual(['pipeline step by Agent_2: token-7f3a', 'final step by Agent_1']);
    const second = mock.conversationRequests().filter((r) => agentOf(r) === 'Agent_1' && (mock.lastUserText(r) ?? '').includes('step 2 of 2'));
    expect(second.length).toBeGreaterThan(0);
    expect(mock.lastUserText(second[0])).toContain('pipeline step by Agent_2: token-7f3a');
  });

  it('consensus of three agents with a 2-1 vote returns the votes, the winning answer and the agreement', async () => {
    votes = { Agent_1: 2, Agent_2: 2, Agent_3: 1 };
    const run = await crew.ok('coordinate_agents', {
      session: 'app',
      mode: 'consensus',
      task: 'Which approach?',
      agents: ['Agent_1', 'Agent_2', 'Agent_3'],
      timeout_s: 240,
    });
    expect(run.state).toBe('done');
    expect(run.consensus.answers.map((a: any) => a.reply)).toEqual(['answer of Agent_1', 'answer of Agent_2', 'answer of Agent_3']);
    expect(run.consensus.votes.map((v: any) => [v.agent, v.vote])).toEqual([
      ['Agent_1', 2],
      ['Agent_2', 2],
      ['Agent_3', 1],
    ]);
    expect(run.consensus.winner).toEqual({ answer: 2, agent: 'Agent_2', reply: 'answer of Agent_2' });
    expect(run.consensus).toMatchObject({ tie: false, agreement: 0.667 });
    // The vote prompt shows the answers without the names of the agents that gave them.
    const ballot = mock.conversationRequests().find((r) => (mock.lastUserText(r) ?? '').includes('Consensus vote'))!;
    expect(mock.lastUserText(ballot)).toContain('### Answer 1\nanswer of Agent_1');
  });

  it('consensus with a tied vote reports the tie and no winner', async () => {
    votes = { Agent_1: 1, Agent_2: 2 };
    const run = await crew.ok('coordinate_agents', { session: 'app', mode: 'consensus', task: 'Pick one.', agents: ['Agent_1', 'Agent_2'], timeout_s: 240 });
    expect(run.state).toBe('done');
    expect(run.consensus).toMatchObject({ tie: true, agreement: 0.5 });
    expect(run.consensus.winner).toBeUndefined();
    expect(run.summary).toMatch(/^Tie: answers 1 \(Agent_1\) and 2 \(Agent_2\)/);
  });

  it('refuses a run that names an agent twice, saying what to fix', async () => {
    const r = await crew.call('coordinate_agents', { session: 'app', mode: 'parallel', task: 'x', agents: ['Agent_1', 'Agent_1'] });
    expect(r.isError).toBe(true);
    expect(JSON.stringify(r.content)).toContain('listed twice');
  });

  it('a run whose tabcrew is killed mid-way is completed by the next tabcrew and is in the audit log', async () => {
    delayMs = 6000;
    const before = mock.conversationRequests().length;
    const started = await crew.ok('coordinate_agents', {
      session: 'app',
      mode: 'parallel',
      task: 'Slow work.',
      agents: ['Agent_1', 'Agent_2', 'Agent_3'],
      timeout_s: 300,
      wait: false,
    });
    expect(started.state).toBe('running');
    // Every agent has its message (its API call is under way) before the server dies.
    const deadline = Date.now() + 120_000;
    while (new Set(mock.conversationRequests().slice(before).map(agentOf)).size < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    process.kill(crew.pid!, 'SIGKILL');
    await crew.disconnect().catch(() => undefined);
    delayMs = 0;
    later = await startTabcrew({ env: home.env, args: ['--backend', 'tmux', '--claude-path', claudeBin], dirs: crew.dirs, socket: crew.socket });
    let run: any;
    for (let i = 0; i < 240; i++) {
      run = await later.ok('get_coordination', { run_id: started.run_id });
      if (run.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(run.state).toBe('done');
    expect(run.results.map((r: any) => r.reply)).toEqual(['reply from Agent_1', 'reply from Agent_2', 'reply from Agent_3']);
    const audit = readdirSync(crew.dirs.logs)
      .filter((f) => f.startsWith('audit-') && f.endsWith('.jsonl'))
      .flatMap((f) => readFileSync(join(crew.dirs.logs, f), 'utf8').split('\n').filter(Boolean))
      .map((l) => JSON.parse(l))
      .filter((e) => e.type === 'coordination' && e.run === started.run_id);
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['start', 'resume', 'end']));
    expect(existsSync(crew.dirs.state)).toBe(true);
    const flags = [...crew.flags, '--backend', 'tmux'];
    const listed = await runCli(['runs', '--session', 'app', '--json', ...flags], testEnv(home.home));
    expect(JSON.parse(listed.stdout).runs[0]).toMatchObject({ run_id: started.run_id, state: 'done', mode: 'parallel' });
    const shown = await runCli(['runs', 'show', started.run_id, ...flags], testEnv(home.home));
    expect(shown.stderr).toBe('');
    expect(shown.stdout).toMatch(/Agent_2\s+done\s+[\d.]+\s+\d+\s+reply from Agent_2/);
  });

  it('on timeout a parallel run returns the finished replies and names the agent still working', async () => {
    slow = { Agent_3: 20_000 };
    const run = await later!.ok('coordinate_agents', { session: 'app', mode: 'parallel', task: 'Quick one.', agents: ['Agent_1', 'Agent_3'], timeout_s: 10 });
    slow = {};
    expect(run.state).toBe('partial');
    expect(run.results.map((r: any) => [r.agent, r.status])).toEqual([
      ['Agent_1', 'done'],
      ['Agent_3', 'working'],
    ]);
    expect(run.still_working).toEqual(['Agent_3']);
    expect(run.summary).toMatch(/1 of 2 agents replied; still working: Agent_3 \(timeout of 10 s\)/);
    await idle(later!, 'Agent_3');
  });

  it('cancel_coordination with interrupt stops the run and interrupts the working agent with one Escape', async () => {
    slow = { Agent_2: 120_000 };
    const before = mock.conversationRequests().length;
    const started = await later!.ok('coordinate_agents', {
      session: 'app',
      mode: 'parallel',
      task: 'Long one.',
      agents: ['Agent_2'],
      timeout_s: 300,
      wait: false,
    });
    await mock.waitFor((r) => r.seq >= before && isConversationRequest(r) && agentOf(r) === 'Agent_2', 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    const run = await later!.ok('cancel_coordination', { run_id: started.run_id, interrupt: true });
    slow = {};
    expect(run).toMatchObject({ state: 'failed', cancelled: true, interrupted: ['Agent_2'], still_working: ['Agent_2'] });
    expect(run.summary).toMatch(/cancelled/);
    await idle(later!, 'Agent_2');
  });
});

/** Waits (bounded) until the agent's turn is over. */
async function idle(c: Crew, agent: string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const s = await c.ok('get_session_status', { session: 'app' });
    if (s.agents.find((a: any) => a.agent === agent)?.status === 'idle') return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${agent} did not become idle`);
}
