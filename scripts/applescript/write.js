/**
 * Types into one tab's program: a paste, or named keys.
 * argv[0]: {"target": {"id": GUID, "tty"?: string, "pid"?: number},
 *           "paste"?: string, "pasteFile"?: string, "keys"?: ["Enter"|"Escape"|"C-c"|"C-u"|"BSpace"]}
 * result:  {"ok": true} | {"ok": false, "reason": "gone"|"not_started"|"ended", "exit"?: string}
 *
 * `write` sends text as though typed, adding a carriage return unless `newline` is
 * false, and never brackets it; iTerm2 brackets only its own Paste, and no property tells
 * whether the program asked for bracketed paste. So a paste is sent between ESC[200~ and
 * ESC[201~ here: the program (Claude Code) asks for bracketed paste, and inside the
 * markers a newline is part of the text instead of Enter. The text was sanitised by
 * tabcrew, so it holds no ESC that could end the paste early; that is checked again.
 * A large paste comes as a 0600 file for `write contents of file`, which adds no newline.
 *
 * Nothing is typed unless the tab's program runs: once it ended, the tab's login shell
 * would read the text, and a following Enter would run it as a command.
 */
const KEYS = { Enter: '\r', Escape: '\u001b', 'C-c': '\u0003', 'C-u': '\u0015', BSpace: '\u007f' };
const PASTE_START = '\u001b[200~';
const PASTE_END = '\u001b[201~';

function run(argv) {
  const args = JSON.parse(argv[0]);
  const app = Application(ITERM2);
  if (!app.running()) return JSON.stringify({ ok: false, reason: 'gone' });
  const found = findSessions(app, [args.target])[0];
  if (!found) return JSON.stringify({ ok: false, reason: 'gone' });
  const session = found.session;
  const exit = variable(session, 'user.tabcrew_exit');
  if (exit !== null) return JSON.stringify({ ok: false, reason: 'ended', exit });
  if (variable(session, 'user.tabcrew_pid') === null) return JSON.stringify({ ok: false, reason: 'not_started' });

  if (args.keys) {
    const text = args.keys.map((key) => {
      if (!Object.prototype.hasOwnProperty.call(KEYS, key)) throw new Error('unknown key ' + JSON.stringify(key));
      return KEYS[key];
    }).join('');
    session.write({ text, newline: false });
  } else if (args.pasteFile) {
    session.write({ text: PASTE_START, newline: false });
    session.write({ contentsOfFile: Path(args.pasteFile) });
    session.write({ text: PASTE_END, newline: false });
  } else {
    const text = String(args.paste);
    if (text.indexOf('\u001b') >= 0) throw new Error('refusing to paste text that holds an escape character');
    session.write({ text: PASTE_START + text + PASTE_END, newline: false });
  }
  return JSON.stringify({ ok: true });
}

// ---- shared: finding sessions (identical in every script; see test/terminals/iterm2.test.ts) ----
const ITERM2 = 'com.googlecode.iterm2';

/** A session variable, or null: iTerm2 answers nothing for one that is unset. */
function variable(session, name) {
  const value = session.variable({ named: name });
  return value === undefined || value === null || value === '' ? null : String(value);
}

/** True for "Can't get object": a window, tab or session closed while the script ran. */
function vanished(err) {
  return err && err.errorNumber === -1728;
}

/**
 * Calls visit(session, tab, sessionsInTab, window) for every session until it returns true. Each
 * element list is fetched once: every `.prop()` is an Apple event (NOTES.md), and `whose`
 * clauses are slow under osascript, so there are none.
 */
function eachSession(app, visit) {
  const windows = app.windows();
  for (let w = 0; w < windows.length; w++) {
    let tabs;
    try {
      tabs = windows[w].tabs();
    } catch (err) {
      if (vanished(err)) continue;
      throw err;
    }
    for (let t = 0; t < tabs.length; t++) {
      let sessions;
      try {
        sessions = tabs[t].sessions();
      } catch (err) {
        if (vanished(err)) continue;
        throw err;
      }
      for (let s = 0; s < sessions.length; s++) {
        try {
          if (visit(sessions[s], tabs[t], sessions.length, windows[w])) return;
        } catch (err) {
          if (!vanished(err)) throw err;
        }
      }
    }
  }
}

/**
 * The sessions of `targets` ({id, tty, pid}), in order, null where none matches: by GUID,
 * else by tty + pid, which a job keeps when iTerm2 adopts it after a restart as a new
 * session, with a new GUID and no variables (NOTES.md). The pid is the program's: the
 * one its start command reported, or else iTerm2's deepest foreground job. One walk.
 */
function findSessions(app, targets) {
  const found = targets.map(() => null);
  const seen = [];
  let missing = targets.length;
  eachSession(app, (session, tab, count) => {
    const id = session.id();
    seen.push({ session, tab, count });
    for (let i = 0; i < targets.length; i++) {
      if (!found[i] && targets[i].id === id) {
        found[i] = seen[seen.length - 1];
        missing--;
      }
    }
    return missing === 0;
  });
  for (let i = 0; i < targets.length; i++) {
    const target = targets[i];
    if (found[i] || !target.tty || !target.pid) continue;
    for (let j = 0; j < seen.length && !found[i]; j++) {
      try {
        const session = seen[j].session;
        if (session.tty() !== target.tty) continue;
        const pid = variable(session, 'user.tabcrew_pid') || variable(session, 'jobPid');
        if (pid === String(target.pid)) found[i] = seen[j];
      } catch (err) {
        if (!vanished(err)) throw err;
      }
    }
  }
  return found;
}
// ---- end shared ----
