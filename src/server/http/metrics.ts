import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { AGENT_STATUSES, WAITING_STATUSES, type AgentStatus } from '../../store/types.js';
import type { SessionStatusView, StatusChange } from '../../supervisor/supervisor.js';
import type { RecordedCall, ToolDeps } from '../tool-kit.js';
import type { InProcessClient } from './in-process.js';

/** The caller name of the reads a scrape makes: not counted as tool calls (a scrape would count itself). */
export const METRICS_CALLER = 'metrics (http)';

/** This server's own agents, on a server that is no front (a front's sessions carry their node). */
const HERE = 'local';

/** A turn: from a `busy` that did not follow a wait, to `idle`. A wait for a permission is part of the turn. */
const WAITING: readonly AgentStatus[] = WAITING_STATUSES;

/** Model ids come from transcripts: anything that does not look like one is counted as "other". */
const MODEL = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,79}$/;
const modelLabel = (m: string): string => (MODEL.test(m) ? m : 'other');

const TOKEN_KINDS = ['input', 'output', 'cache_read', 'cache_write'] as const;

type SessionView = SessionStatusView & { node?: string };

const messageOf = (r: CallToolResult): string => r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

/**
 * `GET /metrics`: the crew in Prometheus' text format, from a registry of this server's own
 * (never prom-client's global one). What the crew is now (agents by status, tokens, pending
 * requests, nodes) is read at each scrape through the registered tools, as the dashboard's
 * feed and the REST mirror read it, so a front reports its nodes' agents too; what happened
 * (tool calls, turns, deliveries, agents created and ended) is counted as it happens. Labels
 * hold node names, statuses, tool names, outcomes and model ids: never agent names or text.
 */
export class CrewMetrics {
  readonly registry = new Registry();
  private readonly agents: Gauge<'node' | 'status'>;
  private readonly tokens: Gauge<'node' | 'model' | 'kind'>;
  private readonly cost: Gauge<'node' | 'model'>;
  private readonly pending: Gauge<'node'>;
  private readonly nodeUp: Gauge<'node'>;
  private readonly toolCalls: Counter<'tool' | 'outcome'>;
  private readonly created: Counter;
  private readonly ended: Counter<'how'>;
  private readonly turns: Histogram;
  private readonly deliveries: Histogram<'outcome'>;
  private readonly busySince = new Map<string, number>();
  /** This server's agents counted as exited and not deleted yet (names are never reused). */
  private readonly exited = new Set<string>();
  private readonly unlisten: (() => void)[] = [];

  constructor(
    private readonly deps: ToolDeps,
    private readonly tools: InProcessClient,
    now: () => number = Date.now,
  ) {
    const r = [this.registry];
    this.agents = new Gauge({ name: 'tabcrew_agents', help: 'Agents by status and node, at the scrape.', labelNames: ['node', 'status'], registers: r });
    this.tokens = new Gauge({
      name: 'tabcrew_tokens',
      help: 'Tokens of the listed agents as tabcrew counted them, by node, model and kind.',
      labelNames: ['node', 'model', 'kind'],
      registers: r,
    });
    this.cost = new Gauge({
      name: 'tabcrew_cost_usd',
      help: "Cost in USD of the listed agents' priced models, by node and model.",
      labelNames: ['node', 'model'],
      registers: r,
    });
    this.pending = new Gauge({
      name: 'tabcrew_pending_permission_requests',
      help: 'Permission requests waiting for a decision.',
      labelNames: ['node'],
      registers: r,
    });
    this.nodeUp = new Gauge({
      name: 'tabcrew_node_up',
      help: 'On a front: 1 when the node answered the scrape, 0 when it did not.',
      labelNames: ['node'],
      registers: r,
    });
    this.toolCalls = new Counter({
      name: 'tabcrew_tool_calls_total',
      help: 'Tool calls this server answered, by tool and outcome (ok, refused, failed).',
      labelNames: ['tool', 'outcome'],
      registers: r,
    });
    this.created = new Counter({ name: 'tabcrew_agents_created_total', help: 'Agents created through create_agent on this server.', registers: r });
    this.ended = new Counter({
      name: 'tabcrew_agents_ended_total',
      help: 'Agents ended: deleted (delete_agent, delete_session) or exited (their process ended).',
      labelNames: ['how'],
      registers: r,
    });
    this.turns = new Histogram({
      name: 'tabcrew_turn_duration_seconds',
      help: "Turns of this server's agents, from busy to idle, as the observer saw them.",
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers: r,
    });
    this.deliveries = new Histogram({
      name: 'tabcrew_delivery_seconds',
      help: "Messages typed into agents' terminals: time until Claude Code confirmed the prompt (or tabcrew gave up).",
      labelNames: ['outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20],
      registers: r,
    });
    for (const outcome of ['confirmed', 'unknown']) this.deliveries.zero({ outcome });
    for (const how of ['deleted', 'exited']) this.ended.inc({ how }, 0);

    if (deps.calls) this.unlisten.push(deps.calls.on((c) => this.onCall(c)));
    void (deps.ready ?? Promise.resolve()).then(
      () => {
        this.unlisten.push(deps.supervisor.onStatusChange((c) => this.onStatus(c, now())));
        this.unlisten.push(deps.supervisor.onDelivery((d) => this.deliveries.observe({ outcome: d.outcome }, d.ms / 1000)));
      },
      () => undefined,
    );
  }

  private onCall(c: RecordedCall): void {
    if (c.caller === METRICS_CALLER) return;
    this.toolCalls.inc({ tool: c.tool, outcome: c.outcome });
    if (c.outcome !== 'ok' || !c.result) return;
    if (c.tool === 'create_agent') this.created.inc();
    const node = typeof c.result.node === 'string' ? c.result.node : HERE;
    const names = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    if (c.tool === 'delete_agent') this.deleted(node, [...names([c.result.agent]), ...names(c.result.children_deleted)]);
    if (c.tool === 'delete_session') this.deleted(node, names(c.result.agents_deleted));
  }

  /** An agent counted as `exited` is not counted again when it is deleted. */
  private deleted(node: string, agents: string[]): void {
    for (const agent of agents) if (!this.exited.delete(`${node}\n${agent}`)) this.ended.inc({ how: 'deleted' });
  }

  private onStatus(c: StatusChange, at: number): void {
    const key = `${c.session_id}\n${c.agent}`;
    if (c.to === 'busy' && !WAITING.includes(c.from)) this.busySince.set(key, at);
    else if (c.to === 'idle') {
      const since = this.busySince.get(key);
      if (since !== undefined) this.turns.observe((at - since) / 1000);
      this.busySince.delete(key);
    } else if (!WAITING.includes(c.to) && c.to !== 'busy') this.busySince.delete(key);
    // Relaunched after an exit: a later exit or deletion ends it again.
    if (c.from === 'exited') this.exited.delete(`${HERE}\n${c.agent}`);
    if (c.to === 'exited' && c.from !== 'exited' && !this.exited.has(`${HERE}\n${c.agent}`)) {
      this.exited.add(`${HERE}\n${c.agent}`);
      this.ended.inc({ how: 'exited' });
    }
  }

  /** One look at the crew through the tools, written into the gauges. */
  private async look(): Promise<void> {
    await this.deps.ready;
    const listed = await this.tools.callTool('list_sessions', {});
    if (listed.isError) throw new Error(messageOf(listed));
    const { sessions, nodes } = listed.structuredContent as { sessions: { session_id: string; node?: string }[]; nodes?: { node: string; ok: boolean }[] };
    const views = await Promise.all(
      sessions.map(async (s): Promise<SessionView | undefined> => {
        const r = await this.tools.callTool('get_session_status', { session: s.session_id });
        return r.isError ? undefined : { ...(r.structuredContent as unknown as SessionStatusView), node: s.node };
      }),
    );
    const pending = await this.tools.callTool('list_pending_permissions', {});

    this.agents.reset();
    this.tokens.reset();
    this.cost.reset();
    this.pending.reset();
    this.nodeUp.reset();
    const nodeNames = new Set([HERE, ...(nodes ?? []).map((n) => n.node)]);
    for (const node of nodeNames) for (const status of AGENT_STATUSES) this.agents.set({ node, status }, 0);
    for (const node of nodeNames) this.pending.set({ node }, 0);
    for (const n of nodes ?? []) if (n.node !== HERE) this.nodeUp.set({ node: n.node }, n.ok ? 1 : 0);
    for (const view of views) {
      if (!view) continue;
      const node = view.node ?? HERE;
      for (const a of view.agents) {
        this.agents.inc({ node, status: a.status });
        for (const m of a.usage.by_model) {
          const model = modelLabel(m.model);
          for (const kind of TOKEN_KINDS) this.tokens.inc({ node, model, kind }, m[kind]);
          if (m.cost_usd !== null) this.cost.inc({ node, model }, m.cost_usd);
        }
      }
    }
    if (!pending.isError) {
      for (const p of (pending.structuredContent as { requests: { node?: string }[] }).requests) this.pending.inc({ node: p.node ?? HERE });
    }
  }

  /** A scrape: the crew looked at now, in the text format (served with `contentType`). */
  async scrape(): Promise<string> {
    await this.look();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const u of this.unlisten.splice(0)) u();
  }
}
