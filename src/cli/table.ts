/**
 * Output shared by the CLI commands: aligned tables for people, JSON for scripts.
 */

// Cells can hold text from outside tabcrew (tmux window titles, paths, Claude's replies):
// an escape sequence printed raw would drive the reader's terminal.
const CONTROL = /[\p{Cc}\u2028\u2029]/gu;

export function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  return String(value).replace(CONTROL, '?');
}

/** Columns separated by two spaces; the last column is not padded, so long details do not pad every line. */
export function formatTable(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const all = [header.map(cell), ...rows.map((r) => header.map((_, i) => cell(r[i])))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return (
    all
      .map((r) =>
        r
          .map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]) : c))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

export function printTable(header: readonly string[], rows: readonly (readonly unknown[])[]): void {
  process.stdout.write(formatTable(header, rows));
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** "12s ago", "5m ago", "3h ago", "2d ago": the reader wants recency, not a timestamp. */
export function ago(iso: string | undefined | null, now = Date.now()): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(t)) return '-';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** 950, 12.3k, 4.1M: token counts in a column that stays narrow. */
export function compact(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}
