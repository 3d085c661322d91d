/**
 * The parts of JavaScript for Automation the scripts see: `Application(bundleId)` returning
 * object specifiers that are callable (a call is a `get` event), element collections
 * (`windows()`, `windows[0]`, `windows.at(i)`, `windows.byId(n)`, `windows.length`),
 * property specifiers (`s.name()`, `s.name = 'x'`), commands derived from the dictionary
 * (`w.createTabWithDefaultProfile()`, `s.write({text, newline})`), `Path`, `delay` and
 * `ObjectSpecifier.hasInstance`. Names outside iTerm2's dictionary are `undefined`, as in
 * JXA, so calling one is a TypeError.
 */
import { readFileSync } from 'node:fs';

import { BY_JXA } from './dictionary.mjs';
import { AppleEventError, aeError, sleepMs } from './model.mjs';

export const BUNDLE_ID = 'com.googlecode.iterm2';

class PathObject {
  constructor(path) {
    this.path = String(path);
  }
  toString() {
    return this.path;
  }
}

/** Thrown for what the emulator knows iTerm2 (or JXA) has but does not implement. */
export class NotModeled extends Error {
  constructor(what, why = "is in iTerm2's dictionary but the emulator does not model it") {
    super(`iTerm2 emulator: ${what} ${why}`);
    this.errorNumber = -2700;
  }
}

export class Runtime {
  constructor(model) {
    this.model = model;
    this.events = 0;
    this.metas = new WeakMap();
  }

  /** The globals a JXA script sees. */
  globals() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the JXA globals are closures over the runtime
    const rt = this;
    const Application = (name) => {
      if (name !== BUNDLE_ID) {
        // Only the bundle id is used: the names "iTerm" / "iTerm2" vary between installs (NOTES.md).
        throw Object.assign(new Error("Application can't be found."), { errorNumber: -2700 });
      }
      return rt.spec({ steps: [], cls: 'application', kind: 'object' });
    };
    Application.currentApplication = () => {
      throw new NotModeled('Application.currentApplication()', 'is JXA, but the emulator does not model it');
    };
    return {
      Application,
      Path: (p) => new PathObject(p),
      delay: (seconds) => sleepMs(Number(seconds) * 1000),
      ObjectSpecifier: { hasInstance: (x) => rt.metas.has(x) },
      console: { log: (...a) => process.stderr.write(`${a.map(String).join(' ')}\n`) },
    };
  }

  event() {
    this.events++;
    this.model.checkEvent();
  }

  // ---- specifiers ------------------------------------------------------------------------

  spec(meta) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the Proxy traps below run with another `this`
    const rt = this;
    const target = function specifier() {};
    const proxy = new Proxy(target, {
      get: (_t, name) => rt.member(meta, name),
      set: (_t, name, value) => {
        rt.assign(meta, name, value);
        return true;
      },
      apply: (_t, _this, args) => rt.call(meta, args),
    });
    this.metas.set(proxy, meta);
    return proxy;
  }

  metaOf(x) {
    return (typeof x === 'function' || typeof x === 'object') && x !== null ? this.metas.get(x) : undefined;
  }

  member(meta, name) {
    if (typeof name === 'symbol') {
      return name === Symbol.toPrimitive ? () => this.describe(meta) : undefined;
    }
    if (name === 'toString') return () => this.describe(meta);
    if (name === 'then') return undefined;
    if (meta.kind === 'value') return undefined;
    const cls = BY_JXA.classes[meta.cls];

    if (meta.kind === 'list') {
      if (/^\d+$/.test(name)) return this.spec({ ...meta, kind: 'object', steps: [...meta.steps, { k: 'at', v: Number(name) }] });
      if (name === 'at') return (i) => this.spec({ ...meta, kind: 'object', steps: [...meta.steps, { k: 'at', v: Number(i) }] });
      if (name === 'byId') return (id) => this.spec({ ...meta, kind: 'object', steps: [...meta.steps, { k: 'id', v: id }] });
      if (name === 'byName') return (n) => this.spec({ ...meta, kind: 'object', steps: [...meta.steps, { k: 'name', v: String(n) }] });
      if (name === 'length') {
        this.event();
        return this.resolve(meta.steps).items.length;
      }
      if (name === 'whose') {
        return () => {
          throw new NotModeled('a whose clause', 'is JXA, but tabcrew avoids it (slow under osascript, NOTES.md) and the emulator does not model it');
        };
      }
    }
    if (meta.cls === 'application' && meta.kind === 'object') {
      const builtin = this.applicationBuiltin(name);
      if (builtin !== undefined) return builtin;
    }
    if (cls.elements.has(name)) {
      return this.spec({ steps: [...meta.steps, { k: 'elements', cls: cls.elements.get(name) }], cls: cls.elements.get(name), kind: 'list' });
    }
    const prop = cls.properties.get(name);
    if (prop) {
      const steps = [...meta.steps, { k: 'prop', name, prop }];
      if (BY_JXA.classes[prop.type]) return this.spec({ steps, cls: prop.type, kind: meta.kind === 'list' ? 'list' : 'object', viaProperty: true });
      return this.spec({ steps, cls: meta.cls, kind: 'value', list: meta.kind === 'list' });
    }
    const command = BY_JXA.commands.get(name);
    if (command) return (...args) => this.command(command, meta, args);
    if (BY_JXA.anyProperty.has(name) || BY_JXA.anyElement.has(name)) {
      // A term of the dictionary that this class does not have: the event fails in iTerm2.
      return this.spec({ steps: [...meta.steps, { k: 'bad', name }], cls: meta.cls, kind: 'value' });
    }
    return undefined;
  }

  applicationBuiltin(name) {
    const m = this.model;
    switch (name) {
      // running() asks the system, not iTerm2: no Apple event, no permission needed.
      case 'running':
        return () => m.isRunning();
      case 'activate':
      case 'launch':
        return () => {
          this.events++;
          m.launch();
          if (name === 'activate' && m.isRunning()) m.state.app.frontmost = true;
        };
      case 'quit':
        return () => {
          this.event();
          m.quit({ stayDown: true });
        };
      case 'id':
        return () => BUNDLE_ID;
      case 'includeStandardAdditions':
        return false;
      default:
        return undefined;
    }
  }

  assign(meta, name, value) {
    const cls = BY_JXA.classes[meta.cls];
    const prop = meta.kind === 'object' ? cls?.properties.get(name) : undefined;
    if (meta.cls === 'application' && name === 'includeStandardAdditions') return;
    this.event();
    if (!prop) throw aeError(-1728);
    if (prop.access === 'r') throw aeError(-10003);
    const { ref } = this.one(meta.steps, meta.cls);
    if (meta.cls === 'session' && name === 'name') {
      this.model.session(ref).name = String(value);
      return;
    }
    throw new NotModeled(`setting ${meta.cls} property '${prop.term}'`);
  }

  call(meta, args) {
    if (args.length > 0 && meta.kind !== 'value') throw aeError(-1708);
    this.event();
    if (meta.kind === 'value') {
      const last = meta.steps[meta.steps.length - 1];
      if (last.k === 'bad') throw aeError(-1728);
      return this.canonical(this.resolve(meta.steps));
    }
    const r = this.resolve(meta.steps);
    if (meta.kind === 'list') return r.items.map((x) => this.canonical(x));
    return this.canonical(r);
  }

  describe(meta) {
    let s = 'Application("iTerm2")';
    for (const st of meta.steps) {
      if (st.k === 'elements') s += `.${BY_JXA.classes[st.cls] ? pluralOf(st.cls) : st.cls}`;
      else if (st.k === 'prop' || st.k === 'bad') s += `.${st.name}`;
      else if (st.k === 'at') s += `.at(${st.v})`;
      else if (st.k === 'id') s += `.byId(${JSON.stringify(st.v)})`;
      else if (st.k === 'name') s += `.byName(${JSON.stringify(st.v)})`;
    }
    return s;
  }

  // ---- resolution: a path of steps to model objects ------------------------------------------

  /** A specifier's path → {cls, ref} for one object, {items: [...]} for a list, or {value}. */
  resolve(steps) {
    let cur = { cls: 'application', ref: null };
    for (const st of steps) cur = this.step(cur, st);
    return cur;
  }

  step(cur, st) {
    const selects = st.k === 'at' || st.k === 'id' || st.k === 'name';
    if (cur.items && (!selects || cur.items.some((x) => x.items))) {
      // A step after a collection applies to each element: app.windows.tabs.sessions.id()
      const mapped = cur.items.map((x) => this.step(x, st));
      return { items: mapped, cls: mapped[0]?.cls };
    }
    switch (st.k) {
      case 'elements':
        return { items: this.children(cur, st.cls), cls: st.cls };
      case 'at': {
        if (!cur.items) throw aeError(-1728);
        const item = cur.items[st.v < 0 ? cur.items.length + st.v : st.v];
        if (!item || item.items) throw aeError(-1728);
        return item;
      }
      case 'id': {
        const item = cur.items?.find((x) => !x.items && this.idOf(x) === st.v);
        if (!item) throw aeError(-1728);
        return item;
      }
      case 'name': {
        const item = cur.items?.find((x) => !x.items && this.nameOf(x) === st.v);
        if (!item) throw aeError(-1728);
        return item;
      }
      case 'prop':
        return this.property(cur, st);
      case 'bad':
        throw aeError(-1728);
      default:
        throw new Error(`unknown step ${st.k}`);
    }
  }

  children(cur, cls) {
    const m = this.model;
    if (cur.cls === 'application' && cls === 'window') return m.state.windows.map((w) => ({ cls, ref: w.id }));
    if (cur.cls === 'window' && cls === 'tab') return m.window(cur.ref).tabs.map((t) => ({ cls, ref: { window: cur.ref, tabId: t.tabId } }));
    if (cur.cls === 'tab' && cls === 'session') return m.tab(cur.ref).t.sessions.map((g) => ({ cls, ref: g }));
    throw aeError(-1728);
  }

  idOf(x) {
    if (x.cls === 'window') return x.ref;
    if (x.cls === 'session') return x.ref;
    throw aeError(-1728); // tabs have no id (NOTES.md)
  }

  nameOf(x) {
    if (x.cls === 'session') return this.model.sessionName(this.model.session(x.ref));
    if (x.cls === 'window') return this.windowName(x.ref);
    throw aeError(-1728);
  }

  windowName(id) {
    const w = this.model.window(id);
    const t = w.tabs[w.currentTab];
    return t ? this.model.sessionName(this.model.session(t.current)) : '';
  }

  property(cur, st) {
    const m = this.model;
    const { prop } = st;
    if (!prop.modeled) throw new NotModeled(`the ${cur.cls} property '${prop.term}'`);
    const v = (value) => ({ value });
    switch (`${cur.cls}.${st.name}`) {
      case 'application.currentWindow': {
        const w = m.state.windows[0];
        if (!w) throw aeError(-1728);
        return { cls: 'window', ref: w.id };
      }
      case 'application.name':
        return v('iTerm2');
      case 'application.frontmost':
        return v(Boolean(m.state.app.frontmost));
      case 'application.version':
        return v(m.state.app.version);
      case 'window.id':
        return v(m.window(cur.ref).id);
      case 'window.alternateIdentifier':
        return v(`window-${m.window(cur.ref).id}`);
      case 'window.name':
        return v(this.windowName(cur.ref));
      case 'window.index':
        return v(m.state.windows.indexOf(m.window(cur.ref)) + 1);
      case 'window.frontmost':
        return v(m.state.windows[0] === m.window(cur.ref));
      case 'window.isHotkeyWindow':
        return v(false);
      case 'window.currentTab': {
        const w = m.window(cur.ref);
        const t = w.tabs[w.currentTab];
        if (!t) throw aeError(-1728);
        return { cls: 'tab', ref: { window: w.id, tabId: t.tabId } };
      }
      case 'window.currentSession': {
        const w = m.window(cur.ref);
        const t = w.tabs[w.currentTab];
        if (!t) throw aeError(-1728);
        return { cls: 'session', ref: t.current };
      }
      case 'tab.currentSession':
        return { cls: 'session', ref: m.tab(cur.ref).t.current };
      case 'tab.index': {
        const { w, t } = m.tab(cur.ref);
        return v(w.tabs.indexOf(t) + 1);
      }
      case 'tab.title':
        return v(m.sessionName(m.session(m.tab(cur.ref).t.current)));
      case 'session.id':
      case 'session.uniqueID':
        return v(m.session(cur.ref).guid);
      case 'session.tty':
        return v(m.session(cur.ref).tty);
      case 'session.name':
        return v(m.sessionName(m.session(cur.ref)));
      case 'session.text':
      case 'session.contents':
        return v(m.contents(m.session(cur.ref)));
      case 'session.isProcessing':
        return v(m.isProcessing(m.session(cur.ref)));
      // Needs shell integration, which the emulated shell does not have (NOTES.md).
      case 'session.isAtShellPrompt':
        return v(false);
      case 'session.columns':
        return v(200);
      case 'session.rows':
        return v(50);
      case 'session.profileName':
        return v('Default');
      default:
        throw new NotModeled(`the ${cur.cls} property '${prop.term}'`);
    }
  }

  /** One object (not a list) or -1728. */
  one(steps, cls) {
    const r = this.resolve(steps);
    if (r.items || r.cls !== cls) throw aeError(-1728);
    return r;
  }

  /** The specifier iTerm2 hands back for an object: windows and sessions by id, tabs by index. */
  canonical(x) {
    if (x.items) return x.items.map((i) => this.canonical(i));
    if (x.value !== undefined || !x.cls) return x.value;
    const m = this.model;
    if (x.cls === 'window') {
      return this.spec({
        steps: [
          { k: 'elements', cls: 'window' },
          { k: 'id', v: x.ref },
        ],
        cls: 'window',
        kind: 'object',
      });
    }
    if (x.cls === 'tab') {
      const { w, t } = m.tab(x.ref);
      return this.spec({
        steps: [
          { k: 'elements', cls: 'window' },
          { k: 'id', v: w.id },
          { k: 'elements', cls: 'tab' },
          { k: 'at', v: w.tabs.indexOf(t) },
        ],
        cls: 'tab',
        kind: 'object',
      });
    }
    if (x.cls === 'session') {
      const { w, t } = m.tabOfSession(x.ref);
      return this.spec({
        steps: [
          { k: 'elements', cls: 'window' },
          { k: 'id', v: w.id },
          { k: 'elements', cls: 'tab' },
          { k: 'at', v: w.tabs.indexOf(t) },
          { k: 'elements', cls: 'session' },
          { k: 'id', v: x.ref },
        ],
        cls: 'session',
        kind: 'object',
      });
    }
    return { cls: x.cls };
  }

  // ---- commands ---------------------------------------------------------------------------

  command(cmd, meta, args) {
    let direct;
    let params;
    const onApp = meta.cls === 'application' && meta.kind === 'object' && meta.steps.length === 0;
    if (onApp) {
      if (cmd.direct) [direct, params] = args;
      else [params] = args;
    } else {
      direct = this.spec(meta);
      [params] = args;
    }
    params ??= {};
    if (typeof params !== 'object' || params === null || Array.isArray(params) || this.metaOf(params)) {
      throw aeError(-1708);
    }
    for (const key of Object.keys(params)) {
      if (!cmd.paramNames.has(key)) {
        throw new AppleEventError(-1701, `${key} is not a parameter of ${cmd.jxa}.`);
      }
    }
    for (const [key, q] of cmd.paramNames) {
      if (!q.optional && params[key] === undefined) {
        throw new AppleEventError(-1701, `Parameter ${key} of ${cmd.jxa} is missing.`);
      }
    }
    this.event();
    if (cmd.jxa === 'exists') return this.exists(direct);

    // Which object the event goes to, and whether its class responds to the command.
    let target = null;
    if (cmd.direct === 'specifier') {
      const dm = this.metaOf(direct);
      if (!dm) throw aeError(-1708);
      target = this.resolve(dm.steps);
      const targets = target.items ?? [target];
      for (const t of targets) {
        if (!cmd.appLevel && !BY_JXA.classes[t.cls]?.respondsTo.has(cmd.jxa)) throw aeError(-1708);
      }
    } else if (!onApp || !cmd.appLevel) {
      throw aeError(-1708);
    }
    if (!cmd.modeled) throw new NotModeled(`the command '${cmd.term}'`);
    return this.perform(cmd.jxa, target, direct, params);
  }

  exists(direct) {
    const dm = this.metaOf(direct);
    if (!dm) throw aeError(-1708);
    try {
      this.resolve(dm.steps);
      return true;
    } catch (err) {
      if (err instanceof AppleEventError && err.errorNumber === -1728) return false;
      throw err;
    }
  }

  perform(name, target, direct, params) {
    const m = this.model;
    const each = (fn) => (target.items ? target.items.forEach(fn) : fn(target));
    switch (name) {
      case 'createWindowWithDefaultProfile':
        return this.canonical({ cls: 'window', ref: m.createWindow(optionalText(params.command)) });
      case 'createWindowWithProfile':
        checkProfile(direct);
        return this.canonical({ cls: 'window', ref: m.createWindow(optionalText(params.command)) });
      case 'createTab':
        checkProfile(params.withProfile);
        return this.canonical({ cls: 'tab', ref: m.createTab(target.ref, optionalText(params.command)) });
      case 'createTabWithDefaultProfile':
        return this.canonical({ cls: 'tab', ref: m.createTab(target.ref, optionalText(params.command)) });
      case 'close':
        each((t) => {
          if (t.cls === 'tab') m.closeTab(t.ref);
          else if (t.cls === 'window') m.closeWindow(t.ref);
          else m.closeSession(t.ref);
        });
        return undefined;
      case 'select':
        each((t) => m.select(t.cls, t.ref));
        return undefined;
      case 'write':
        return this.write(m.session(target.ref), params);
      case 'variable':
        return m.variable(m.session(target.ref), String(params.named));
      case 'setVariable': {
        const s = m.session(target.ref);
        const named = String(params.named);
        // iTerm2's handleSetVariableNamedCommand: error 3 for any name outside user.
        if (!named.startsWith('user.')) {
          throw new AppleEventError(3, 'Only user variables may be set. Name must start with “user.”.');
        }
        s.vars[named] = String(params.to);
        return String(params.to);
      }
      default:
        throw new NotModeled(`the command '${name}'`);
    }
  }

  /** iTerm2's handleWriteScriptCommand: text or contents of file, never both; CR unless newline false. */
  write(s, params) {
    const { text, contentsOfFile } = params;
    if (text !== undefined && contentsOfFile !== undefined) {
      throw new AppleEventError(1, 'Only one of text or contents of file should be specified.');
    }
    if (text === undefined && contentsOfFile === undefined) {
      throw new AppleEventError(2, 'Neither text nor contents of file was specified.');
    }
    let data;
    if (text !== undefined) {
      data = String(text) + (params.newline === undefined || params.newline ? '\r' : '');
    } else {
      if (!(contentsOfFile instanceof PathObject)) throw aeError(-1700, "Can't make some data into the expected type.");
      try {
        data = readFileSync(contentsOfFile.path, 'utf8');
      } catch {
        // stringWithContentsOfFile:… error:nil → nil, and a nil string is not written.
        return undefined;
      }
    }
    this.model.write(s, data);
    return undefined;
  }
}

function pluralOf(cls) {
  return { window: 'windows', tab: 'tabs', session: 'sessions' }[cls] ?? cls;
}

function optionalText(v) {
  return v === undefined || v === null ? undefined : String(v);
}

function checkProfile(name) {
  if (String(name) !== 'Default') throw new AppleEventError(1, `No profile exists named '${String(name)}'`);
}
