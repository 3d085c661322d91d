import type { AgentLifecycle, CreateAgentInput } from './agents.js';
import type { Progress, Services } from './context.js';
import { checkMessage, type DeliveryResult } from './delivery.js';
import type { Limits } from './limits.js';
import { Roster } from './roster.js';

export type QueuedDelivery = Omit<DeliveryResult, 'delivered'> & { delivered: 'queued'; resumes_at: string };

/**
 * create_agent and send_message_to_agent with `queue: true`: while the account is at a usage
 * limit the start or the message waits for the reset (limits.ts keeps the queue; limit-resume.ts
 * sends it); otherwise they go straight to the lifecycle.
 */
export class QueuedWork {
  constructor(
    private readonly deps: Pick<Services, 'store' | 'observer'> & {
      limits: Pick<Limits, 'enqueue'>;
      agents: Pick<AgentLifecycle, 'createAgent' | 'sendMessage'>;
    },
  ) {}

  async createAgent(input: CreateAgentInput & { queue?: boolean }, progress?: Progress) {
    const { queue, ...create } = input;
    const queued = queue ? await this.deps.limits.enqueue({ kind: 'create', input: { ...create } }) : undefined;
    return queued ?? this.deps.agents.createAgent(create, progress);
  }

  async sendMessage(
    name: string,
    input: Parameters<AgentLifecycle['sendMessage']>[1] & { queue?: boolean },
    progress?: Progress,
  ): Promise<DeliveryResult | QueuedDelivery> {
    const { queue, ...send } = input;
    if (queue) {
      await new Roster(this.deps.store).find(name); // an unknown agent is an error, not a queued message
      checkMessage(send.message);
      const q = await this.deps.limits.enqueue({ kind: 'message', agent: name, message: send.message });
      if (q) {
        const { status } = await this.deps.observer.observeOne(name);
        return {
          agent: name,
          delivery_id: q.queue_id,
          delivered: 'queued',
          status,
          resumes_at: q.resumes_at,
          note: `Queued: delivered after the usage limit resets.`,
        };
      }
    }
    return this.deps.agents.sendMessage(name, send, progress);
  }
}
