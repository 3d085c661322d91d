import { readFileSync } from 'node:fs';

/**
 * Where alerts go: `--notify-url` (repeatable), TABCREW_NOTIFY_URL (several separated by
 * spaces or new lines) and `--notify-url-file` (one URL a line, `#` comments). A URL often
 * carries a token (a Slack webhook's path, ntfy's ?auth=): the file and the variable keep it
 * out of `ps`, and nothing tabcrew logs or says ever shows more of a URL than its origin.
 */
export function notifyUrls(o: { urls?: string[]; file?: string }): string[] {
  const fromFile = o.file ? urlsOfFile(o.file) : [];
  const all = [...(o.urls ?? []).flatMap((u) => u.split(/\s+/)), ...fromFile].map((u) => u.trim()).filter(Boolean);
  all.forEach((u, i) => checkUrl(u, `notify URL #${i + 1}`));
  return [...new Set(all)];
}

function urlsOfFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(
      `--notify-url-file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give a readable file with one URL a line.`,
      { cause: e },
    );
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** Throws, naming the URL by its place and never by its text, unless it is an http(s) URL. */
export function checkUrl(url: string, what: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${what} is not a URL: give one such as https://ntfy.sh/my-topic or https://hooks.slack.com/services/….`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error(`${what} is a ${u.protocol} URL: alerts are sent by HTTP(S) POST only.`);
}

/** What logs may say of a URL: scheme, host and port; never its user, password, path or query. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}

/** An error's text with every URL in it cut to its origin (fetch errors may quote the URL). */
export function withoutUrls(text: string, urls: readonly string[]): string {
  let s = text;
  for (const u of urls) s = s.split(u).join(originOf(u));
  return s.replace(/\bhttps?:\/\/[^\s'"<>]+/g, (m) => originOf(m));
}
