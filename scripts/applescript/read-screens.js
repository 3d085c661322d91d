/**
 * The last lines of several tabs' text in one run.
 * argv[0]: {"targets": [{"id": GUID, "tty"?: string, "pid"?: number}], "lines": number}
 * result:  {"running": boolean, "screens": [string|null]}   (null: no such tab)
 *
 * `text` is the whole scrollback plus the screen, not only the screen (NOTES.md), so it
 * is cut to the last lines here rather than sent whole through osascript's stdout.
 */
function run(argv) {
  const args = JSON.parse(argv[0]);
  const app = Application(ITERM2);
  if (!app.running()) return JSON.stringify({ running: false, screens: args.targets.map(() => null) });
  const screens = findSessions(app, args.targets).map((found) => {
    if (!found) return null;
    try {
      return lastLines(String(found.session.text()), args.lines);
    } catch (err) {
      if (vanished(err)) return null;
      throw err;
    }
  });
  return JSON.stringify({ running: true, screens });
}

function lastLines(text, n) {
  const lines = text.split('\n').map((line) => line.replace(/\s+$/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n).join('\n');
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
