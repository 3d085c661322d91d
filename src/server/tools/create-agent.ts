import { z } from 'zod';
import { MAX_ROLE_CHARS, MODEL_NAME, MODEL_NAME_HINT, PERMISSION_MODES } from '../../claude/launch-options.js';
import { confirmIfNeeded } from '../confirm.js';
import { agentLimitInputs } from '../agent-limit-inputs.js';
import { agentStatus, confirm, note, progressOf, run, sessionRef, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';

export const registerCreateAgent: RegisterTool = (server, deps) => {
  server.registerTool(
    'create_agent',
    {
      title: 'Create agent',
      description:
        'Launch a new Claude Code agent (Agent_N) in its own terminal tab in the session root, with the ADDER+ protocol in its system prompt. Returns when the agent is ready for input (progress is reported while it starts); after --start-timeout (45 s by default) it returns status "starting" with a note: follow it with get_session_status. A first-run dialog of Claude Code that tabcrew does not answer is an error naming the dialog and its fix. At most --max-starting agents start at once (the others wait, with progress); while the crew account is at an API usage limit it is refused with the reset time, unless queue: true.',
      inputSchema: {
        session: sessionRef,
        role: z
          .string()
          .max(MAX_ROLE_CHARS)
          .optional()
          .describe(
            'A role id from list_roles (e.g. "backend_developer"), whose guidance goes into its system prompt and whose permission rules into its settings (code_reviewer, security_analyst: read-only); any other text is kept as a custom role.',
          ),
        model: z.string().regex(MODEL_NAME, MODEL_NAME_HINT).optional().describe('Claude Code --model: an alias ("sonnet") or a model id.'),
        permission_mode: z.enum(PERMISSION_MODES).optional().describe('Claude Code --permission-mode.'),
        initial_task: z.string().optional().describe('First message to send once the agent is ready.'),
        ...agentLimitInputs,
        isolation: z
          .enum(['none', 'worktree'])
          .optional()
          .describe(
            '"worktree": its own git worktree on a new branch tabcrew/<agent> under <root>/.tabcrew/worktrees/ (the root must be the top of a git repository).',
          ),
        sandbox_extra_paths: z
          .array(z.string().min(1).max(4096))
          .max(32)
          .optional()
          .describe(
            "Paths this agent's OS sandbox shows besides its root (see get_session_status sandbox): absolute, existing; read-only, or DIR:rw for read-write. E.g. a package cache, ~/.gitconfig, the ssh agent socket.",
          ),
        queue: z
          .boolean()
          .optional()
          .describe(
            "While the crew's account is at an API usage limit, create_agent is refused with the reset time and starts nothing; queue: true queues the start instead, and tabcrew starts the agent after the reset.",
          ),
        confirm: confirm,
      },
      outputSchema: {
        agent: z.string().optional().describe('Absent when the start was queued.'),
        session_id: z.string().optional(),
        status: agentStatus.optional(),
        claude_session_id: z.string().optional(),
        backend: z.string().optional(),
        queued: z.boolean().optional().describe('True: the account is at its usage limit and the start waits for resumes_at (queue: true).'),
        queue_id: z.string().optional(),
        resumes_at: z.string().optional(),
        trust: z.string().optional().describe('How the folder-trust dialog was handled.'),
        api_key: z
          .string()
          .optional()
          .describe('How Claude Code\'s "Do you want to use this API key?" was settled for ANTHROPIC_API_KEY: already_approved or approved_by_tabcrew.'),
        onboarding: z
          .string()
          .optional()
          .describe(
            'How Claude Code\'s first-run setup ("Welcome to Claude Code") was settled with the approved ANTHROPIC_API_KEY: already_completed or completed_by_tabcrew.',
          ),
        note,
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
      ...route({ targets: { session: 'session' }, untargeted: 'here', waits: true }),
    },
    async (params, extra) =>
      run(
        'create_agent',
        deps,
        async () => {
          const { confirm, ...args } = params;
          const session = await deps.supervisor.sessionNames(args.session);
          await confirmIfNeeded(server, deps, { tool: 'create_agent', target: session.name, accepted: [session.name, session.id], confirm });
          return deps.supervisor.createAgent(args, progressOf(extra));
        },
        params,
      ),
  );
};
