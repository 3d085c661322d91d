import type { AuditLog } from '../../audit/audit-log.js';

const WINDOW_MS = 10_000;

/**
 * Refused HTTP requests go to the audit log, but a flood of them must not become a flood of
 * fsynced records: the first in a window is written at once, the rest are counted and
 * written as one record when the window ends.
 */
export class RefusalRecorder {
  private windowEnds = 0;
  private counted = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly audit: () => Pick<AuditLog, 'append'> | undefined) {}

  record(reason: string, detail: { method?: string; path: string; remote?: string }): void {
    const now = Date.now();
    if (now >= this.windowEnds) {
      this.windowEnds = now + WINDOW_MS;
      void this.write({ reason, ...detail, count: 1 });
      this.timer ??= setTimeout(() => this.flush(), WINDOW_MS).unref();
    } else {
      this.counted++;
    }
  }

  private flush(): void {
    this.timer = undefined;
    if (this.counted) void this.write({ reason: 'more refused HTTP requests', path: '*', count: this.counted });
    this.counted = 0;
  }

  private async write(fields: Record<string, unknown>): Promise<void> {
    await this.audit()
      ?.append({ type: 'refusal', what: 'http_request', ...fields, reason: String(fields.reason) })
      .catch(() => undefined);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.flush();
  }
}
