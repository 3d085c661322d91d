import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { textProblem } from '../claude/launch-options.js';
import type { AgentReport, MessageKind } from '../store/message-types.js';
import type { AgentStatus } from '../store/types.js';
import { secretMatches } from './agent-identity.js';
import type { Services } from './context.js';
import { UserError } from './errors.js';
import type { InboxMessage, MessageCenter, SendResult } from './messages.js';
import { addEdit, claimEdit, completeEdit, editTodo, readTodo, todoItems } from './todo.js';
import { agentOf } from './roster.js';

/** An agent whose name and secret the supervisor checked; only `AgentDesk.authenticate` makes one. */
export class VerifiedAgent {
  static readonly #token = Symbol('verified');
  private constructor(
    readonly agent: string,
    readonly sessionId: string,
    token: symbol,
  ) {
    if (token !== VerifiedAgent.#token) throw new Error('a VerifiedAgent comes from AgentDesk.authenticate only');
  }

  /** @internal */
  static make(agent: string, sessionId: string): VerifiedAgent {
    return new VerifiedAgent(agent, sessionId, VerifiedAgent.#token);
  }
}

export interface Peer {
  agent: string;
  status: AgentStatus;
  role: string | null;
  claimed_tasks: string[];
  last_status?: AgentReport;
}

/**
 * What an agent may do through its own MCP server (`tabcrew agent-mcp`): speak as itself,
 * read its own inbox, see and talk to its own session. Every call starts with `authenticate`;
 * a caller that does not hold the agent's current secret gets nothing else.
 */
export class AgentDesk {
  constructor(
    private readonly ctx: Pick<Services, 'audit' | 'config' | 'observer' | 'store'>,
    private readonly mail: MessageCenter,
  ) {}

  async authenticate(agent: string, secret: string): Promise<VerifiedAgent> {
    // A look, not a copy of the whole state: every hook's socket call (a fan-out's 64 Stops) starts here.
    const record = await this.ctx.store.peek((state) => {
      const a = agentOf(state, agent);
      return a && { name: a.name, sessionId: a.sessionId, secretSha256: a.secretSha256 };
    });
    if (!secretMatches(secret, record?.secretSha256) || !record) {
      await this.ctx.audit?.append({ type: 'refusal', what: 'agent_call', agent, reason: 'agent name and secret do not match' });
      throw new UserError(
        `tabcrew refused the call: the secret does not match ${agent}'s current one (it changes at every launch of the agent). Nothing was done.`,
      );
    }
    return VerifiedAgent.make(record.name, record.sessionId);
  }

  sendMessage(caller: VerifiedAgent, input: { to: string; message: string; kind?: MessageKind; reply_to?: string }): Promise<SendResult> {
    return this.mail.send({ from: caller.agent, sessionId: caller.sessionId }, input);
  }

  checkMessages(caller: VerifiedAgent): Promise<{ messages: InboxMessage[] }> {
    return this.mail.check(caller.agent);
  }

  async listPeers(caller: VerifiedAgent): Promise<{ session: string; you: string; peers: Peer[] }> {
    const state = await this.ctx.store.read();
    const session = this.session(state.sessions, caller);
    const agents = state.agents.filter((a) => a.sessionId === session.id && a.name !== caller.agent);
    const live = agents.length ? await this.ctx.observer.observe(session, agents) : new Map();
    const todo = await this.items(session.root);
    return {
      session: session.name,
      you: caller.agent,
      peers: agents.map((a) => ({
        agent: a.name,
        status: live.get(a.name)?.status ?? a.status,
        role: a.launch.role ?? null,
        claimed_tasks: todo.filter((i) => !i.done && i.owners.includes(a.name)).map((i) => i.text),
        ...(a.report ? { last_status: a.report } : {}),
      })),
    };
  }

  async updateStatus(caller: VerifiedAgent, input: { state: AgentReport['state']; note: string }): Promise<{ agent: string; state: string; note: string }> {
    const problem = textProblem('note', input.note, 500);
    if (problem) throw new UserError(problem);
    await this.ctx.store.update((state) => {
      const a = agentOf(state, caller.agent);
      if (!a) throw new UserError(`${caller.agent} was deleted; nothing was recorded.`);
      a.report = { state: input.state, note: input.note, at: new Date().toISOString() };
    });
    return { agent: caller.agent, state: input.state, note: input.note };
  }

  async claimTask(caller: VerifiedAgent, task: string): Promise<{ claimed: true; task: string; number: number; note?: string }> {
    const root = await this.root(caller);
    return { claimed: true, ...(await editTodo(root, this.lockDir(), claimEdit(caller.agent, task))) };
  }

  async completeTask(caller: VerifiedAgent, task: string, note?: string): Promise<{ completed: true; task: string; number: number }> {
    if (note !== undefined) {
      const problem = textProblem('note', note, 500);
      if (problem) throw new UserError(problem);
    }
    const root = await this.root(caller);
    return { completed: true, ...(await editTodo(root, this.lockDir(), completeEdit(caller.agent, task, note))) };
  }

  async addTask(caller: VerifiedAgent, text: string): Promise<{ added: true; task: string; number: number }> {
    const problem = textProblem('text', text, 500);
    if (problem) throw new UserError(problem);
    if (/^\s*\[[ xX]\]/.test(text)) throw new UserError('give the task text alone, without a checkbox: add_task writes "- [ ] " itself.');
    const root = await this.root(caller);
    return { added: true, ...(await editTodo(root, this.lockDir(), addEdit(text), { create: true })) };
  }

  private lockDir(): string {
    return join(this.ctx.config.runtimeDir, 'locks');
  }

  private session<S extends { id: string }>(sessions: S[], caller: VerifiedAgent): S {
    const s = sessions.find((x) => x.id === caller.sessionId);
    if (!s) throw new UserError(`your session ${caller.sessionId} no longer exists.`);
    return s;
  }

  private async root(caller: VerifiedAgent): Promise<string> {
    return this.session((await this.ctx.store.read()).sessions, caller).root;
  }

  private async items(root: string): Promise<ReturnType<typeof todoItems>> {
    const todo = await readTodo(root).catch(() => null);
    if (!todo) return [];
    return todoItems(await readFile(todo.path, 'utf8').catch(() => ''));
  }
}
