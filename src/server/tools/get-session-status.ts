import { z } from 'zod';
import { agentHoldSchema, API_LIMIT_KINDS, STATUS_SOURCES } from '../../store/types.js';
import { UserError } from '../../supervisor/errors.js';
import type { SessionStatusView } from '../../supervisor/supervisor.js';
import { worktreeStatusSchema } from '../../supervisor/worktrees.js';
import { agentSandboxSchema } from '../../store/types.js';
import { healthSchema } from '../../supervisor/health.js';
import { usageViewSchema } from '../../supervisor/usage.js';
import { agentStatus, run, sessionRef, type RegisterTool, type ToolDeps } from '../tool-kit.js';
import { route } from '../routing.js';

const tokens = z.object({ input: z.number(), output: z.number(), cache_read: z.number(), cache_creation: z.number() });

/** One session's status: the answer for `{session}`, and each entry of `sessions` without it. */
const sessionStatus = {
  session_id: z.string(),
  name: z.string(),
  root: z.string(),
  agents: z.array(
    z.object({
      agent: z.string(),
      status: agentStatus,
      status_source: z.enum(STATUS_SOURCES),
      since: z.string(),
      claude_session_id: z.string().nullable(),
      tokens,
      last_reply: z.string().optional(),
      tasks: z.object({ open: z.number(), done: z.number() }),
      role: z.object({ id: z.string().optional(), title: z.string(), custom: z.boolean(), read_only: z.boolean().optional() }).optional(),
      parent: z.string().optional().describe('The agent that spawned it.'),
      children: z.array(z.string()).optional().describe('The helpers it spawned.'),
      usage: usageViewSchema,
      health: healthSchema,
      paused: agentHoldSchema.optional(),
      pause_reason: z.enum(['usage_limit']).optional().describe('usage_limit: an API usage or rate limit ended its turn; tabcrew resumes it at resumes_at.'),
      resumes_at: z.string().optional().describe('When tabcrew resumes an agent paused by a usage limit (ISO time; a little jitter follows).'),
      worktree: worktreeStatusSchema
        .optional()
        .describe('The agent\'s own git worktree (isolation "worktree"): branch, commits ahead of its base, uncommitted files.'),
      sandbox: agentSandboxSchema
        .optional()
        .describe(
          "The OS sandbox its Claude Code ran in at its last launch (bubblewrap, seatbelt or none) and what it shows besides the system and programs: paths read-only, read-write, and hidden (tabcrew's own, other projects' Claude Code data).",
        ),
    }),
  ),
  todo: z.object({ path: z.string(), open: z.number(), done: z.number() }).nullable(),
  usage: usageViewSchema.describe("This session's agents together."),
  crew_usage: usageViewSchema.describe('Every agent of every session.'),
  limits: z
    .array(
      z.object({
        account: z.string().describe('Fingerprint of the credential the agents share (never the credential).'),
        state: z.enum(['ok', 'limited', 'resuming']),
        kind: z.enum(API_LIMIT_KINDS).optional().describe('usage_limit (a subscription limit with its reset time) or rate_limit (a 429; tabcrew backs off).'),
        resumes_at: z.string().optional(),
        agents_paused: z.array(z.string()),
        queued: z.number().describe('Messages and starts queued (queue: true) for after the reset.'),
      }),
    )
    .describe("The crew's account and its API usage-limit state: while limited, no agent starts and no message is typed (docs/usage-limits.md)."),
  overlaps: z
    .array(z.object({ path: z.string(), agents: z.array(z.string()), since: z.string() }))
    .describe(
      'Paths two or more agents of the session changed (worktree branches and working trees, or the files hooks say an agent wrote); since: when first seen.',
    ),
};

const optional = <T extends Record<string, z.ZodTypeAny>>(shape: T) =>
  Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, v.optional()])) as { [K in keyof T]: z.ZodOptional<T[K]> };

/**
 * Every session; one deleted meanwhile is left out. Asked at once, so that their terminal
 * listings share round trips (terminals/shared-reads.ts) instead of one per session.
 */
async function everySession(deps: ToolDeps): Promise<{ sessions: SessionStatusView[]; limits: SessionStatusView['limits'] }> {
  const { sessions } = await deps.supervisor.listSessions();
  const views = await Promise.all(
    sessions.map((s) =>
      deps.supervisor.getSessionStatus(s.session_id).catch((e: unknown) => {
        if (e instanceof UserError) return undefined;
        throw e;
      }),
    ),
  );
  return { sessions: views.filter((v): v is SessionStatusView => v !== undefined), limits: await deps.supervisor.usageLimits() };
}

export const registerGetSessionStatus: RegisterTool = (server, deps) => {
  server.registerTool(
    'get_session_status',
    {
      title: 'Session status',
      description:
        'Every agent of a session: status (from Claude Code hooks first, then the terminal, then the screen; status_source says which), health (ok, stuck, waiting_long, crashed), tokens and cost per model (a model missing from the price table is listed as unpriced, its cost null), why it is paused (pause_reason usage_limit with resumes_at when an API usage limit paused it), last reply, its TODO.md tasks; the TODO.md totals, usage totals for the session and the crew, and limits: the API usage-limit state of the crew. Without session: every session, in sessions (on a front of several nodes: every node at once, each entry naming its node).',
      inputSchema: { session: sessionRef.optional().describe('Session id (s-…) or name; leave out for every session.') },
      outputSchema: {
        ...optional(sessionStatus),
        sessions: z.array(z.object(sessionStatus)).optional().describe('Without session: the status of every session.'),
      },
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      ...route({ targets: { session: 'session' }, untargeted: 'crew' }),
    },
    async (params) =>
      run(
        'get_session_status',
        deps,
        async () => (params.session === undefined ? await everySession(deps) : { ...(await deps.supervisor.getSessionStatus(params.session)) }),
        params,
      ),
  );
};
