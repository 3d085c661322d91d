// An agent's patch drawn by diff2html (bundled; its CSS is in the served app.css), and what a
// person clicks in it. diff2html escapes every file name and line it draws, so nothing of the
// patch becomes markup; what this module adds (the comment box) is built as DOM text.
import { html, parse } from 'diff2html';

const OPTIONS = { drawFileList: false, outputFormat: 'line-by-line', matching: 'none', colorScheme: 'light' };

/** The patch as diff2html draws it, and the files it read (in the order drawn). */
export function diffHtml(patch) {
  const files = parse(patch ?? '');
  return { files, html: html(files, OPTIONS) };
}

/** The path a file of the patch has now (or had, for a deleted one). */
export const pathOf = (file) => (file.newName && file.newName !== '/dev/null' ? file.newName : file.oldName);

/** The line a row of the drawn diff stands for, or undefined for a hunk header. */
export function lineOf(row) {
  const now = row.querySelector('.line-num2')?.textContent.trim();
  const was = row.querySelector('.line-num1')?.textContent.trim();
  const text = row.querySelector('.d2h-code-line-ctn')?.textContent ?? '';
  if (now) return { line: Number(now), removed: false, text };
  if (was) return { line: Number(was), removed: true, text };
  return undefined;
}

/** The message an agent gets for a comment on a line: `path:line`, the line, the comment. */
export function commentMessage({ path, line, removed, text }, comment) {
  const quoted = String(text ?? '')
    .trim()
    .slice(0, 300);
  return [
    `Review comment on ${path}:${line}${removed ? ' (a line your change removed; the number is from before it)' : ''}:`,
    ...(quoted ? [`> ${quoted}`] : []),
    '',
    String(comment).trim(),
  ].join('\n');
}

/**
 * Draws `patch` into `container`; a click or tap on a code line calls
 * `onLine({ path, line, removed, text, row })`.
 */
export function renderDiff(container, patch, onLine) {
  const { files, html: drawn } = diffHtml(patch);
  container.innerHTML = drawn;
  container.querySelectorAll('.d2h-file-wrapper').forEach((w, i) => {
    if (files[i]) w.dataset.path = pathOf(files[i]);
  });
  container.onclick = (ev) => {
    const row = ev.target.closest('tr');
    if (!row || !container.contains(row) || row.classList.contains('review-comment-row')) return;
    const at = lineOf(row);
    const path = row.closest('.d2h-file-wrapper')?.dataset.path;
    if (at && path) onLine({ path, ...at, row });
  };
  return files;
}
