/**
 * iTerm2's scripting dictionary as the emulator knows it: every class, property, element,
 * command and parameter term of iTerm2.sdef (shared/reference/iterm2/iTerm2.sdef, commit
 * b9c78a2), written down from the sdef (emulator.test.ts compares the two when the sdef is
 * present). JXA names are derived from the terms the way JXA does, never written by hand.
 *
 * `modeled: false` marks terms the emulator knows exist but does not implement: a script
 * using one fails loudly instead of getting an invented answer.
 */

/** JXA's spelling of a dictionary term: first word lower-cased, later words capitalised. */
export function jxaName(term) {
  const [first, ...rest] = term.split(' ');
  return first.toLowerCase() + rest.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}

const P = (term, type, extra = {}) => ({ term, type, access: 'rw', modeled: false, ...extra });
const R = { access: 'r' };
const M = { modeled: true };
const RM = { access: 'r', modeled: true };

const COLOR_TERMS = [
  'background color',
  'bold color',
  'cursor color',
  'cursor text color',
  'foreground color',
  'selected text color',
  'selection color',
  'ANSI black color',
  'ANSI red color',
  'ANSI green color',
  'ANSI yellow color',
  'ANSI blue color',
  'ANSI magenta color',
  'ANSI cyan color',
  'ANSI white color',
  'ANSI bright black color',
  'ANSI bright red color',
  'ANSI bright green color',
  'ANSI bright yellow color',
  'ANSI bright blue color',
  'ANSI bright magenta color',
  'ANSI bright cyan color',
  'ANSI bright white color',
  'underline color',
];

/** Classes: properties (term, type, access), elements (class names) and the commands they respond to. */
export const CLASSES = {
  application: {
    properties: [P('current window', 'window', M), P('name', 'text', RM), P('frontmost', 'boolean', RM), P('version', 'text', RM)],
    elements: ['window'],
    respondsTo: [],
  },
  window: {
    properties: [
      P('id', 'integer', RM),
      P('alternate identifier', 'text', RM),
      P('name', 'text', RM),
      P('index', 'integer', { modeled: 'read' }),
      P('bounds', 'rectangle'),
      P('closeable', 'boolean', R),
      P('miniaturizable', 'boolean', R),
      P('miniaturized', 'boolean'),
      P('resizable', 'boolean', R),
      P('visible', 'boolean'),
      P('zoomable', 'boolean', R),
      P('zoomed', 'boolean'),
      P('frontmost', 'boolean', { modeled: 'read' }),
      P('current tab', 'tab', { modeled: 'read' }),
      P('current session', 'session', { modeled: 'read' }),
      P('is hotkey window', 'boolean', { modeled: 'read' }),
      P('hotkey window profile', 'text'),
      P('position', 'point'),
      P('origin', 'point'),
      P('size', 'point'),
      P('frame', 'rectangle'),
    ],
    elements: ['tab'],
    respondsTo: ['close', 'select', 'create tab with default profile', 'create tab', 'reveal hotkey window', 'hide hotkey window', 'toggle hotkey window'],
  },
  tab: {
    properties: [P('current session', 'session', { modeled: 'read' }), P('index', 'integer', { modeled: 'read' }), P('title', 'text', { modeled: 'read' })],
    elements: ['session'],
    respondsTo: ['close', 'select'],
  },
  session: {
    properties: [
      P('id', 'text', RM),
      P('is processing', 'boolean', { modeled: 'read' }),
      P('is at shell prompt', 'boolean', { modeled: 'read' }),
      P('columns', 'integer', { modeled: 'read' }),
      P('rows', 'integer', { modeled: 'read' }),
      P('tty', 'text', RM),
      P('contents', 'text', { modeled: 'read' }),
      P('text', 'text', RM),
      P('color preset', 'text'),
      ...COLOR_TERMS.map((t) => P(t, 'RGB color')),
      P('use underline color', 'boolean'),
      P('background image', 'text'),
      P('name', 'text', M),
      P('transparency', 'real'),
      P('unique ID', 'text', RM),
      P('profile name', 'text', RM),
      P('answerback string', 'text'),
    ],
    elements: [],
    respondsTo: [
      'close',
      'write',
      'select',
      'split vertically',
      'split vertically with default profile',
      'split vertically with same profile',
      'split horizontally',
      'split horizontally with default profile',
      'split horizontally with same profile',
      'variable',
      'set variable',
    ],
  },
};

/** Element class → the JXA name of its collection. */
export const PLURAL = { window: 'windows', tab: 'tabs', session: 'sessions' };

const C = (term, params, extra = {}) => ({ term, params, direct: null, appLevel: false, modeled: false, ...extra });
const p = (term, optional = true) => ({ term, optional });

/**
 * Commands. `direct`: what the direct parameter is ('specifier', 'text', or null for none).
 * `appLevel`: handled by a command class of its own (a <cocoa class> in the sdef), so the
 * application itself accepts it; other commands reach only classes that respond to them.
 */
export const COMMANDS = [
  // Standard Suite
  C('count', [p('each')], { direct: 'specifier', appLevel: true }),
  C('delete', [], { direct: 'specifier', appLevel: true }),
  C('duplicate', [p('to', false), p('with properties')], { direct: 'specifier', appLevel: true }),
  C('exists', [], { direct: 'specifier', appLevel: true, modeled: true }),
  C('make', [p('new', false), p('at'), p('with data'), p('with properties')], { appLevel: true }),
  C('move', [p('to', false)], { direct: 'specifier', appLevel: true }),
  // iTerm2 Suite
  C('close', [], { direct: 'specifier', modeled: true }),
  C('request cookie', [p('and key for app named'), p('reusable'), p('session id')], { appLevel: true }),
  C('create tab', [p('with profile', false), p('command')], { direct: 'specifier', modeled: true }),
  C('create tab with default profile', [p('command')], { direct: 'specifier', modeled: true }),
  C('create window with profile', [p('command')], { direct: 'text', appLevel: true, modeled: true }),
  C('create hotkey window with profile', [], { direct: 'text', appLevel: true }),
  C('launch API script named', [p('arguments')], { direct: 'text', appLevel: true }),
  C('invoke API expression', [], { direct: 'text', appLevel: true }),
  C('create window with default profile', [p('command')], { appLevel: true, modeled: true }),
  C('write', [p('contents of file'), p('text'), p('newline')], { direct: 'specifier', modeled: true }),
  C('select', [], { direct: 'specifier', modeled: true }),
  C('split vertically', [p('with profile', false), p('command')], { direct: 'specifier' }),
  C('split vertically with default profile', [p('command')], { direct: 'specifier' }),
  C('split vertically with same profile', [p('command')], { direct: 'specifier' }),
  C('split horizontally', [p('with profile', false), p('command')], { direct: 'specifier' }),
  C('split horizontally with default profile', [p('command')], { direct: 'specifier' }),
  C('split horizontally with same profile', [p('command')], { direct: 'specifier' }),
  C('variable', [p('named', false)], { direct: 'specifier', modeled: true }),
  C('set variable', [p('named', false), p('to', false)], { direct: 'specifier', modeled: true }),
  C('reveal hotkey window', [], { direct: 'specifier' }),
  C('hide hotkey window', [], { direct: 'specifier' }),
  C('toggle hotkey window', [], { direct: 'specifier' }),
];

/** Lookup tables by JXA name. */
export const BY_JXA = (() => {
  const classes = {};
  for (const [cls, def] of Object.entries(CLASSES)) {
    const properties = new Map(def.properties.map((prop) => [jxaName(prop.term), prop]));
    const elements = new Map(def.elements.map((el) => [PLURAL[el], el]));
    const respondsTo = new Set(def.respondsTo.map(jxaName));
    classes[cls] = { properties, elements, respondsTo };
  }
  const commands = new Map(
    COMMANDS.map((cmd) => [jxaName(cmd.term), { ...cmd, jxa: jxaName(cmd.term), paramNames: new Map(cmd.params.map((q) => [jxaName(q.term), q])) }]),
  );
  // Any property term of any class: JXA knows the name even where a class lacks it.
  const anyProperty = new Set(Object.values(CLASSES).flatMap((d) => d.properties.map((q) => jxaName(q.term))));
  const anyElement = new Set(Object.values(PLURAL));
  return { classes, commands, anyProperty, anyElement };
})();
