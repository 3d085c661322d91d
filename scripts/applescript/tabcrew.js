/**
 * tabcrew's iTerm2 backend as one JXA program: `osascript -l JavaScript tabcrew.js JSON`.
 * argv[0]: {"op": "create-tab"|"list-tabs"|"read-screens"|"write"|"close-tab"|"preflight", ...}
 * The other fields are the operation's arguments, described at each function below; the
 * result is the operation's JSON on stdout. One run performs one operation (one run per
 * backend call, never one per tab), and data reaches it only as that JSON argument.
 */
function run(argv) {
  const args = JSON.parse(argv[0]);
  switch (args.op) {
    case 'create-tab':
      return createTab(args);
    case 'list-tabs':
      return listTabs(args);
    case 'read-screens':
      return readScreens(args);
    case 'write':
      return write(args);
    case 'close-tab':
      return closeTab(args);
    case 'preflight':
      return preflight(args);
    default:
      throw new Error('tabcrew.js: unknown op ' + JSON.stringify(args.op) + '; expected create-tab, list-tabs, read-screens, write, close-tab or preflight');
  }
}

/**
 * create-tab: Opens one tabcrew tab and starts its program.
 * args:    {"group": string, "tag": string, "title": string, "command": string}
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
function createTab(args) {
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

/**
 * list-tabs: Every session iTerm2 has, tabcrew's or not, in one walk.
 * args:    {}
 * result:  {"running": boolean, "tabs": [{"id": GUID, "tty": string, "pid": string|null,
 *           "title": string, "tag": string|null, "group": string|null, "exit": string|null}]}
 *
 * An iTerm2 that is not running has no tabs: it is not launched just to be looked at.
 * For tabcrew's tabs, "pid" (the program's) and "exit" come from user.tabcrew_pid and
 * user.tabcrew_exit, which the tab's start command sets with the SetUserVar escape code
 * when the program starts and ends (NOTES.md): iTerm2 has no property that says whether
 * a tab's program still runs. Another session's "pid" is its own process, the shell.
 */
function listTabs(args) {
  const app = Application(ITERM2);
  if (!app.running()) return JSON.stringify({ running: false, tabs: [] });
  const tabs = [];
  eachSession(app, (session) => {
    const tag = variable(session, 'user.tabcrew_tag');
    const info = { id: session.id(), tty: session.tty(), pid: null, tag, group: null, title: null, exit: null };
    if (tag !== null) {
      info.group = variable(session, 'user.tabcrew_group');
      info.title = variable(session, 'user.tabcrew_title');
      info.pid = variable(session, 'user.tabcrew_pid');
      info.exit = variable(session, 'user.tabcrew_exit');
    } else {
      info.pid = variable(session, 'pid');
    }
    // A program retitles its session at will, so tabcrew's own title is preferred.
    if (info.title === null) info.title = String(session.name());
    tabs.push(info);
    return false;
  });
  return JSON.stringify({ running: true, tabs });
}

/**
 * read-screens: The last lines of several tabs' text in one run.
 * args:    {"targets": [{"id": GUID, "tty"?: string, "pid"?: number}], "lines": number}
 * result:  {"running": boolean, "screens": [string|null]}   (null: no such tab)
 *
 * `text` is the whole scrollback plus the screen, not only the screen (NOTES.md), so it
 * is cut to the last lines here rather than sent whole through osascript's stdout.
 */
function readScreens(args) {
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

/**
 * write: Types into one tab's program: a paste, or named keys.
 * args:    {"target": {"id": GUID, "tty"?: string, "pid"?: number},
 *           "paste"?: string, "pasteFile"?: string, "keys"?: ["Enter"|"Escape"|"C-c"|"C-u"|"BSpace"|"Down"|"Up"]}
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
const KEYS = { Enter: '\r', Escape: '\u001b', 'C-c': '\u0003', 'C-u': '\u0015', BSpace: '\u007f', Down: '\u001b[B', Up: '\u001b[A' };
const PASTE_START = '\u001b[200~';
const PASTE_END = '\u001b[201~';

function write(args) {
  const app = Application(ITERM2);
  if (!app.running()) return JSON.stringify({ ok: false, reason: 'gone' });
  const found = findSessions(app, [args.target])[0];
  if (!found) return JSON.stringify({ ok: false, reason: 'gone' });
  const session = found.session;
  const exit = variable(session, 'user.tabcrew_exit');
  if (exit !== null) return JSON.stringify({ ok: false, reason: 'ended', exit });
  if (variable(session, 'user.tabcrew_pid') === null) return JSON.stringify({ ok: false, reason: 'not_started' });

  if (args.keys) {
    const text = args.keys
      .map((key) => {
        if (!Object.prototype.hasOwnProperty.call(KEYS, key)) throw new Error('unknown key ' + JSON.stringify(key));
        return KEYS[key];
      })
      .join('');
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

/**
 * close-tab: Closes one tab, ending its program.
 * args:    {"target": {"id": GUID, "tty"?: string, "pid"?: number}}
 * result:  {"closed": boolean}   (false: there was no such tab)
 *
 * The TAB is closed, not the session: closing the session of a one-pane tab while a job
 * runs opens a modal "close?" sheet that blocks the Apple event until it times out, while
 * closing a tab asks nothing (NOTES.md). Only a session that shares its tab with other
 * panes (the user split it) is closed alone, so the other panes live on.
 */
function closeTab(args) {
  const app = Application(ITERM2);
  if (!app.running()) return JSON.stringify({ closed: false });
  const found = findSessions(app, [args.target])[0];
  if (!found) return JSON.stringify({ closed: false });
  try {
    if (found.count > 1) found.session.close();
    else found.tab.close();
  } catch (err) {
    if (vanished(err)) return JSON.stringify({ closed: false });
    throw err;
  }
  return JSON.stringify({ closed: true });
}

/**
 * preflight: Is iTerm2 there, and may tabcrew script it?
 * args:    {}
 * result:  {"running": boolean, "version": string|null}
 *
 * The first Apple event from a new host app makes macOS ask the user for Automation
 * permission and blocks until answered; run with a short timeout at start-up, this one
 * harmless event (`version`) turns that wait into a message saying what to allow.
 */
function preflight(args) {
  const app = Application(ITERM2);
  if (!app.running()) return JSON.stringify({ running: false, version: null });
  return JSON.stringify({ running: true, version: String(app.version()) });
}

// ---- shared: finding sessions ----
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
