import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { createHash } from 'node:crypto';
import type { Logger } from '../audit/logger.js';

const POLL_MS = 2000;

/**
 * resources/subscribe: tabcrew re-reads each subscribed resource every two seconds (only
 * while something is subscribed) and sends notifications/resources/updated when its
 * content changed. Agents change by themselves, so there is no write path to hook into.
 */
export class Subscriptions {
  private readonly seen = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private ticking = false;

  constructor(
    private readonly server: McpServer,
    private readonly read: (uri: string) => Promise<string>,
    private readonly log: Logger,
  ) {}

  install(): void {
    this.server.server.registerCapabilities({ resources: { subscribe: true } });
    this.server.server.setRequestHandler(SubscribeRequestSchema, async (req) => {
      const uri = req.params.uri;
      // A resource that is not there yet (an agent still to be created) may be subscribed to:
      // its appearance is the first change. (The MCP conformance suite subscribes to such a URI.)
      this.seen.set(uri, await this.read(uri).then(fingerprint, () => 'gone'));
      this.timer ??= setInterval(() => void this.tick(), POLL_MS).unref();
      return {};
    });
    this.server.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => {
      this.seen.delete(req.params.uri);
      if (!this.seen.size) this.stop();
      return {};
    });
  }

  /** Looks now (an agent's status just changed) instead of at the next poll. */
  nudge(): void {
    if (this.seen.size) setImmediate(() => void this.tick());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const [uri, before] of this.seen) {
        let now: string;
        try {
          now = fingerprint(await this.read(uri));
        } catch {
          now = 'gone';
        }
        if (now !== before && this.seen.has(uri)) {
          this.seen.set(uri, now);
          await this.server.server.sendResourceUpdated({ uri }).catch(() => undefined);
        }
      }
    } catch (e) {
      this.log.warn('subscription poll failed', { error: (e as Error).message });
    } finally {
      this.ticking = false;
    }
  }
}

function fingerprint(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
