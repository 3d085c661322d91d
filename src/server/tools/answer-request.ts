import { z } from 'zod';
import { confirmIfNeeded } from '../confirm.js';
import { confirm, run, type RegisterTool } from '../tool-kit.js';
import { route } from '../routing.js';
import { resolveAnswer } from '../../supervisor/request-answers.js';

const choice = z.union([z.string().min(1).max(500), z.number().int().min(1).max(100)]);
const choose = z
  .union([choice, z.array(choice).min(1).max(20)])
  .describe("An option: its label, or its number as the agent's tab shows it (1 = the first); a list for a multi-select question.");
const text = z.string().min(1).max(2000).describe('An answer of your own instead of (or besides) an option.');

export const registerAnswerRequest: RegisterTool = (server, deps) => {
  server.registerTool(
    'answer_request',
    {
      title: 'Answer what an agent is waiting for',
      description:
        'Answers a pending request (request_id from list_pending_requests). A permission: decision "allow" or "deny" (message: why). A question: choose (an option\'s label or number) or text; with several questions, answers: one {choose or text} per question, in order; decision "deny" declines it. A plan: decision "approve", or "reject" with message as the feedback the agent revises its plan by. The first answer counts, whether here or at the agent\'s tab; a second is refused saying who answered.',
      inputSchema: {
        request_id: z.string().min(1).max(100).describe('The id from list_pending_requests, e.g. "p-3f9a0c1d2e4b5a6f".'),
        decision: z.enum(['allow', 'deny', 'answer', 'approve', 'reject']).optional().describe('Implied ("answer") when choose, text or answers is given.'),
        choose: choose.optional(),
        text: text.optional(),
        answers: z
          .array(z.object({ choose: choose.optional(), text: text.optional() }))
          .min(1)
          .max(8)
          .optional()
          .describe('A request of several questions: one answer per question, in order.'),
        message: z.string().max(2000).optional().describe("The agent reads it: a deny's reason, a rejected plan's feedback."),
        confirm,
      },
      outputSchema: {
        request_id: z.string(),
        agent: z.string(),
        kind: z.enum(['permission', 'question', 'plan']),
        tool: z.string(),
        outcome: z.enum(['allowed', 'denied', 'answered', 'declined', 'approved', 'rejected']),
        answers: z.array(z.string()).optional().describe("A question's answers as the agent gets them, one per question."),
        taken: z.boolean().describe("Whether the agent's hook took the answer within 5 s."),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      ...route({ targets: { request_id: 'request' }, untargeted: 'here' }),
    },
    async (params) =>
      run(
        'answer_request',
        deps,
        async () => {
          const pending = await deps.supervisor.pendingPermission(params.request_id);
          const answer = resolveAnswer(pending, params);
          if (answer.decision === 'allow') {
            // What the person lets happen is what they are shown: the call, the answers, or the plan's first line.
            const what = answer.shown ? `answer ${answer.shown.map((s) => `"${s}"`).join(', ')} to ${pending.input_summary}` : pending.input_summary;
            await confirmIfNeeded(server, deps, {
              tool: 'answer_request',
              target: `${pending.agent} ${pending.kind === 'plan' ? 'plan' : pending.tool}: ${what} (${pending.request_id})`,
              accepted: [pending.request_id],
              confirm: params.confirm,
            });
          }
          const by = deps.clientName?.() ?? 'MCP client';
          const done = await deps.supervisor.decidePermission({
            request_id: pending.request_id,
            decision: answer.decision,
            ...(answer.reason ? { reason: answer.reason } : {}),
            ...(answer.answers ? { answers: answer.answers } : {}),
            by,
          });
          return {
            request_id: done.request_id,
            agent: done.agent,
            kind: done.kind,
            tool: done.tool,
            outcome: answer.outcome,
            ...(answer.shown ? { answers: answer.shown } : {}),
            taken: done.taken,
          };
        },
        params,
      ),
  );
};
