import type { AuditLog } from '../../audit/audit-log.js';
import type { AuditEvent, AuditRecord } from '../../audit/events.js';

type Audit = Pick<AuditLog, 'append'>;

const WINDOW_MS = 10 * 60_000;

/**
 * The live feed repeats the same reads every second or two while a page is open; written
 * one fsynced record each, an open dashboard would add some 300,000 records a day. A read
 * that succeeded is recorded the first time in a window for its tool and target (who
 * looked at what stays on record), and a repeat within the window is answered by that
 * record. Refusals, failures and everything that is not a tool call are always recorded.
 */
export function feedAudit(audit: () => Audit | undefined, windowMs = WINDOW_MS, now = Date.now): () => Audit | undefined {
  let wrapped: { of: Audit; as: Audit } | undefined;
  return () => {
    const of = audit();
    if (!of) return undefined;
    if (wrapped?.of !== of) wrapped = { of, as: onceInWindow(of, windowMs, now) };
    return wrapped.as;
  };
}

function onceInWindow(audit: Audit, windowMs: number, now: () => number): Audit {
  const seen = new Map<string, { at: number; record: Promise<AuditRecord> }>();
  return {
    append(event: AuditEvent): Promise<AuditRecord> {
      if (event.type !== 'tool_call' || event.outcome !== 'ok') return audit.append(event);
      const key = JSON.stringify([event.tool, event.agent ?? null, event.session ?? null]);
      const earlier = seen.get(key);
      if (earlier && now() - earlier.at < windowMs) return earlier.record;
      const record = audit.append(event);
      seen.set(key, { at: now(), record });
      // A record that could not be written covers nothing: the next look tries again.
      record.catch(() => seen.delete(key));
      return record;
    },
  };
}
