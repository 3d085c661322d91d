/**
 * Opens one tabcrew tab and starts its program.
 * argv[0]: {"group": string, "tag": string, "title": string, "command": string}
 * result:  {"id": GUID, "tty": string, "pid": string|null, "window": number}   (pid: the program's)
 *
 * The tab opens in the window that already holds the group's tabs, found by the
 * user.tabcrew_group variable of its sessions; only when there is none is a window created
 * (which brings iTerm2 to the front). The user's own windows and tabs are never used.
 * The tab starts the login shell, and `command` (the constant launcher on a launch spec,
 * a few hundred characters) is typed into it: a `command` parameter would be exec'd
 * without a shell and close the tab, and its scrollback, when the program ends (NOTES.md).
 * The variables are set before the command is typed, so the program never runs untagged.
 * The command reports the program's pid (user.tabcrew_pid) as the program starts: it is
 * waited for, a few seconds at most, so that the handle names the program.
 */
const PID_WAIT_S = 5;
const PID_POLL_S = 0.05;
function run(argv) {
  const args = JSON.parse(argv[0]);
  const app = Application(ITERM2);
  // After launch iTerm2 may have no window at all (its Startup preference), which the
  // search below handles; an iTerm2 still starting fails with -600, which tabcrew retries.
  if (!app.running()) app.activate();

  let win = null;
  eachSession(app, (session, tab, count, window) => {
    if (variable(session, 'user.tabcrew_group') !== args.group) return false;
    win = window;
    return true;
  });

  let tab;
  if (win) {
    // A new tab is its window's current tab, should an older iTerm2 answer no specifier.
    tab = win.createTabWithDefaultProfile() || win.currentTab();
  } else {
    win = app.createWindowWithDefaultProfile();
    tab = win.currentTab();
  }
  const session = tab.currentSession();
  session.setVariable({ named: 'user.tabcrew_tag', to: args.tag });
  session.setVariable({ named: 'user.tabcrew_group', to: args.group });
  session.setVariable({ named: 'user.tabcrew_title', to: args.title });
  session.name = args.title;
  const result = { id: session.id(), tty: session.tty(), pid: null, window: win.id() };
  // `write text` ends the line with a carriage return: the shell runs the command.
  session.write({ text: args.command });
  for (let waited = 0; result.pid === null && waited < PID_WAIT_S; waited += PID_POLL_S) {
    result.pid = variable(session, 'user.tabcrew_pid');
    if (result.pid === null) delay(PID_POLL_S);
  }
  return JSON.stringify(result);
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
