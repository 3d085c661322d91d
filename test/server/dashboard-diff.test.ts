import { describe, expect, it } from 'vitest';
// @ts-expect-error: the page's own module, plain JavaScript for the browser.
import { commentMessage, diffHtml, pathOf } from '../../src/server/http/dashboard/diff-view.js';
// @ts-expect-error: the page's own module, plain JavaScript for the browser.
import { countsOf } from '../../src/server/http/dashboard/review.js';

const PATCH = `diff --git a/src/<b>x</b>.txt b/src/<b>x</b>.txt
index 1111111..2222222 100644
--- a/src/<b>x</b>.txt
+++ b/src/<b>x</b>.txt
@@ -1,2 +1,2 @@
 keep
-old
+new <img src=x onerror=alert(1)>
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index 3333333..0000000
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
`;

describe("the dashboard's diff view", () => {
  it('draws every line and file name of the patch as text: markup in them is escaped, never made', () => {
    const { html, files } = diffHtml(PATCH);
    expect(html).toContain('new &lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toMatch(/<img|<b>/);
    expect(files.map(pathOf)).toEqual(['src/<b>x</b>.txt', 'gone.txt']);
  });

  it('a comment on a line becomes a message quoting path:line, the line and the comment; a removed line says so', () => {
    expect(commentMessage({ path: 'src/app.ts', line: 12, removed: false, text: '  const x = 1;' }, ' Use a better name. ')).toBe(
      'Review comment on src/app.ts:12:\n> const x = 1;\n\nUse a better name.',
    );
    expect(commentMessage({ path: 'gone.txt', line: 1, removed: true, text: 'bye' }, 'Keep it')).toMatch(
      /^Review comment on gone.txt:1 \(a line your change removed; the number is from before it\):\n> bye\n\nKeep it$/,
    );
  });

  it('a card counts files and lines added and removed, binary files as none', () => {
    expect(
      countsOf({
        commits_ahead: 2,
        files: [
          { path: 'a', added: 3, removed: 1 },
          { path: 'b.png', added: null, removed: null },
        ],
      }),
    ).toEqual({ files: 2, added: 3, removed: 1, ahead: 2 });
  });
});
