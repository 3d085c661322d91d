/**
 * A duration as flags take it: `30s`, `10m`, `2h`, or a plain number of minutes. Returns
 * milliseconds, or undefined when the text is not one (the caller says which flag).
 */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'm').toLowerCase();
  const ms = n * (unit === 's' ? 1000 : unit === 'h' ? 3_600_000 : 60_000);
  return ms > 0 && Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** `90000` → `1m 30s`, for messages. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
}
