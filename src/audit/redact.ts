/**
 * Secret redaction for everything tabcrew writes to disk (the audit log and the
 * operational log). It removes secret VALUES and keeps the label, so a reader still sees
 * that, say, a password was passed: `password=[REDACTED:password]`.
 *
 * Every pattern is linear-time on hostile input: each quantifier is bounded, and each
 * pattern either starts with a literal or with a look-behind that stops it from starting
 * again inside the run it is already scanning (that is what turns `\w{1,N}` from O(n·N)
 * into O(n) on inputs such as "-eyJ-eyJ-eyJ…"). Tests time a 1 MB adversarial input.
 *
 * A command a person is asked to approve goes through `redactKeepingCode` instead: the same
 * rules, but a redaction there only ever replaces literal text that cannot be code.
 */

const PLACEHOLDER = /^\[REDACTED:[a-z0-9_]{1,40}\]$/;
/** A placeholder written by an earlier pass: matched first so it is skipped, not re-redacted. */
const PH = String.raw`\[REDACTED:[a-z0-9_]{1,40}\]`;

export function placeholder(kind: string): string {
  return `[REDACTED:${kind}]`;
}

export function isPlaceholder(s: string): boolean {
  return PLACEHOLDER.test(s);
}

// Key names that announce a secret. A key may carry a prefix ("DB_PASSWORD", "x-api-key",
// "dbPassword", "aws_secret_access_key") and a "_key" suffix ("secret_key"), but must END
// with the keyword, so "tokenizer", "max_tokens" and "password_hint" are not secrets.
const KEYWORDS = String.raw`(?:passwd|password|passphrase|pwd|client[_\-]?secret|secret|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|token)`;
const KEY_RUN = String.raw`[A-Za-z0-9_.\-]{0,60}?${KEYWORDS}(?:[_\-]?key)?`;
const KEY_START = String.raw`(?<![A-Za-z0-9_.\-])`;
const KEY_END = String.raw`(?![A-Za-z0-9_])`;

/** A whole object key that names a secret (for redactValue). */
const SECRET_KEY_NAME = new RegExp(String.raw`^${KEY_RUN}$`, 'i');
const HEADER_KEY_NAME = /^(?:proxy-)?authorization$|^(?:set-)?cookie$/i;

// The value after a key and separator: the quoted forms keep their quotes (only the inside
// is replaced); a bare value runs to whitespace, a quote or a list/shell separator.
const VALUE = [
  String.raw`(\\")(${PH}|(?:[^"\\\n]|\\(?!")){1,4096})`,
  String.raw`(")(${PH}|(?:[^"\\\n]|\\.){1,4096})`,
  String.raw`(')(${PH}|[^'\n]{1,4096})`,
  String.raw`(\x60)(${PH}|[^\x60\n]{1,4096})`,
  String.raw`(${PH}|[^\s"'\x60,;&]{1,4096})`,
].join('|');

// Flag form, "--db-password hunter2" (the "=" form is an ordinary assignment).
const FLAG = new RegExp(
  String.raw`${KEY_START}(--${KEY_RUN})${KEY_END}([ \t]{1,4})(?:(")(${PH}|(?:[^"\\\n]|\\.){1,4096})|(')(${PH}|[^'\n]{1,4096})|(${PH}|[^\s"'\x60,;&\-][^\s"'\x60,;&]{0,4095}))`,
  'gi',
);

// "password=x", "token: x", "\"api_key\": \"x\"", "PASSWORD = 'x y'", "Password is: x",
// "secret => x". "is"/"was"/"are" without a colon only count for values that look secret.
const ASSIGN = new RegExp(
  String.raw`${KEY_START}(${KEY_RUN})${KEY_END}(\\?["']?[ \t]{0,8}(:=|=>|==?|:|\bis\b:?|\bwas\b:?|\bare\b:?)[ \t]{0,8})(?:${VALUE})`,
  'gi',
);

// <password>x</password>
const XML = new RegExp(String.raw`<(${KEY_RUN})>(${PH}|[^<\n]{1,4096})(?=</)`, 'gi');

const AUTH_HEADER =
  /(?<![A-Za-z0-9_-])((?:proxy-)?authorization)(\\?["']?[ \t]{0,8}[:=][ \t]{0,8}\\?["']?)(?:(bearer|basic|token|digest|negotiate|apikey)([ \t]{1,4}))?(\[REDACTED:[a-z0-9_]{1,40}\]|[^\s"'\\,;]{1,8192})/gi;
const BEARER = /(?<![A-Za-z0-9_-])(bearer[ \t]{1,4})(\[REDACTED:[a-z0-9_]{1,40}\]|[A-Za-z0-9._~+/=-]{16,8192})/gi;

// scheme://user:password@host — the password may contain ":" and even an unencoded "@",
// so it runs to the last "@" before the path.
const URL_CREDENTIALS = /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/)([^\s:/?#@[\]]{0,256}):([^\s/?#]{1,512})@/g;

interface TokenRule {
  kind: string;
  re: RegExp;
  /** Extra check on the match, to keep false positives out ("sk-learn-…" is not a key). */
  accept?: (m: string) => boolean;
}

const hasDigitAndLetter = (m: string): boolean => /[0-9]/.test(m) && /[A-Za-z]/.test(m);

const TOKEN_RULES: TokenRule[] = [
  { kind: 'jwt', re: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,16384}\.[A-Za-z0-9_-]{4,16384}\.[A-Za-z0-9_-]{0,16384}/g },
  { kind: 'anthropic_key', re: /(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{16,1024}/g },
  { kind: 'openai_key', re: /(?<![A-Za-z0-9_-])sk-(?!ant-)[A-Za-z0-9_-]{20,1024}/g, accept: (m) => hasDigitAndLetter(m.slice(3)) },
  { kind: 'github_token', re: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,1024}|github_pat_[A-Za-z0-9_]{30,1024})/g },
  { kind: 'slack_token', re: /(?<![A-Za-z0-9_-])(?:xox[abprse]-[A-Za-z0-9-]{10,1024}|xapp-[0-9]-[A-Za-z0-9-]{10,1024})/g },
  { kind: 'google_api_key', re: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}/g },
  { kind: 'stripe_key', re: /(?<![A-Za-z0-9_])(?:(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,1024}|whsec_[0-9A-Za-z]{20,1024})/g },
  { kind: 'aws_access_key', re: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g },
  { kind: 'npm_token', re: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/g },
  // tabcrew's own HTTP token (server/http/token.ts): "tc_" and 32 random bytes in base64url.
  { kind: 'tabcrew_token', re: /(?<![A-Za-z0-9_-])tc_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g },
];

const SLACK_WEBHOOK = /(hooks\.slack\.com\/(?:services|workflows|triggers)\/)([A-Za-z0-9_/-]{8,1024})/gi;

/** The placeholder kind for a key name. */
export function kindOfKey(key: string): string {
  const k = key.toLowerCase();
  if (/pass|pwd/.test(k)) return 'password';
  if (/private[_-]?key/.test(k)) return 'private_key';
  if (/api[_-]?key|apikey/.test(k)) return 'api_key';
  if (/access[_-]?key/.test(k)) return 'access_key';
  if (/token/.test(k)) return 'token';
  if (/authorization/.test(k)) return 'authorization';
  if (/cookie/.test(k)) return 'cookie';
  return 'secret';
}

// Bare values after a secret key that are not secrets: type annotations, empty markers,
// and code that reads the secret from somewhere else.
const NOT_A_VALUE = new Set([
  'null',
  'none',
  'nil',
  'undefined',
  'true',
  'false',
  'string',
  'str',
  'number',
  'int',
  'bool',
  'boolean',
  'any',
  'unknown',
  'bytes',
  'required',
  'optional',
  'empty',
  'redacted',
  'hidden',
  'secretstr',
]);
const CODE_REF =
  /^(?:(?:process\.env|os\.environ|import\.meta\.env|self|this|config|cfg|settings|env|options|opts|args|params|req|request|ctx|props|secrets|vault|creds|credentials)[.[]|[A-Za-z_$][\w$]{0,100}(?:\.[A-Za-z_$][\w$]{0,100}){0,10}\()/;
// "form.elements.password.value": a property path. Digits disqualify it, since a secret
// such as "hunter2.abc" has the same shape and generated secrets nearly always have digits.
const PROPERTY_PATH = /^[A-Za-z_$][A-Za-z_$]{0,100}(?:\.[A-Za-z_$][A-Za-z_$]{0,100}){1,10}$/;
const ENV_REF = /^(?:\$\{?[A-Z_][A-Z0-9_]{0,100}\}?|%[A-Z_][A-Z0-9_]{0,100}%|\{\{[^}]{0,200}\}\})$/;

function isPwdPath(key: string, value: string): boolean {
  // PWD and OLDPWD are the shell's working directories, not passwords.
  return /^(?:old)?pwd$/i.test(key) && /^[/~]/.test(value);
}

function bareValueIsSecret(value: string, prose: boolean): boolean {
  const v = value.replace(/[.,!?:;)]{1,10}$/, '');
  if (v === '' || NOT_A_VALUE.has(v.toLowerCase()) || CODE_REF.test(v) || PROPERTY_PATH.test(v) || ENV_REF.test(v)) return false;
  // In prose ("the token is expired") only values that look generated count.
  if (prose) return /[0-9]/.test(v) || /[^A-Za-z]/.test(v) || v.length >= 12;
  return true;
}

// ---- commands shown for approval -------------------------------------------------------------
//
// A summary a person approves must show every piece of code, so there a redaction replaces
// only a literal token that cannot be code: never whitespace, a quote, or anything a shell
// acts on ($, backticks, pipes, ;, &, redirections, parentheses, braces, backslashes). A
// value that starts with such a character ("$(curl …|sh)") is left whole; one that continues
// with it loses only its literal start ("abc$(id)" → "[REDACTED:…]$(id)").
//
// Whitespace decides what is a word, and quotes can hide it at any nesting level (eval,
// sh -c), so the only values redacted there are those glued to the word that names them
// (`KEY=x`, `"token":"x"`, `<password>x</password>`, a URL's password) or the argument of a
// word that cannot be an assignment (`--password x`, `Authorization: Bearer x`, each after
// whitespace): a value after a space could be the command an assignment prefix runs
// (`X="password:" reboot`), so `password: x` and `PASSWORD= x` are shown as they are.
// "↵" and "\uFFFD" are how an approval summary shows a line break and a control character.
const SHELL_ACTIVE = /[\s"'`$\\|&;<>(){}\u21b5\uFFFD]/;

/** The literal start of a value: up to the first whitespace or shell-active character. */
function literalLead(value: string): string {
  const i = value.search(SHELL_ACTIVE);
  return i === -1 ? value : value.slice(0, i);
}

interface Mode {
  /** Approval summaries: redact only literal tokens, keep every piece of code visible. */
  keepCode: boolean;
}

const PLAIN: Mode = { keepCode: false };
const KEEP_CODE: Mode = { keepCode: true };

/** The replacement of `value`, which ends `m`: the placeholder, or in keepCode only its literal start replaced (undefined: leave m). */
function replaceTail(m: string, value: string, kind: string, mode: Mode): string | undefined {
  const head = m.slice(0, m.length - value.length);
  if (!mode.keepCode) return head + placeholder(kind);
  const lead = literalLead(value);
  // "password=input()": a call, not a value; "${TOKEN:-$(id)}": punctuation, not a value.
  if (!/[\p{L}\p{N}]/u.test(lead) || value[lead.length] === '(') return undefined;
  return head + placeholder(kind) + value.slice(lead.length);
}

/** Whether the text before `offset` ends a word: a value there is an argument, never glued to an assignment. */
function atWordStart(whole: string, offset: number): boolean {
  return offset === 0 || /\s/.test(whole[offset - 1]);
}

function redactAssignment(m: string, key: string, sep: string, sepWord: string, groups: (string | undefined)[], mode: Mode): string {
  // groups: [\" open, content, " open, content, ' open, content, ` open, content, bare]
  let open = '';
  let value: string | undefined;
  for (let i = 0; i < 8; i += 2) {
    if (groups[i] !== undefined) {
      open = groups[i]!;
      value = groups[i + 1];
      break;
    }
  }
  const bare = value === undefined;
  if (bare) value = groups[8];
  if (value === undefined || isPlaceholder(value) || isPwdPath(key.replace(/^-+/, ''), value)) return m;
  // `getpass("Password: ")` — the quote after the separator closes a string; what follows
  // it is code. A value with no letter or digit at all is taken to be punctuation.
  if (!/[\p{L}\p{N}]/u.test(value)) return m;
  const prose = /^(?:is|was|are)$/i.test(sepWord);
  if (bare && !bareValueIsSecret(value, prose)) return m;
  // In a command a value after a space is a word of its own (see above); one in backticks is code.
  if (mode.keepCode && (/[ \t]$/.test(sep) || open === '`')) return m;
  return replaceTail(m, value, kindOfKey(key), mode) ?? m;
}

/** A private key block's body in an approval summary: base64 lines only, each long enough that it is no command. */
const KEY_BODY_TOKEN = /^[A-Za-z0-9+/=]{16,}$/;

function redactPrivateKeys(s: string, mode: Mode): string {
  if (!s.includes('-----BEGIN')) return s;
  const header = /-----BEGIN[A-Z0-9 ]{0,48}PRIVATE KEY(?: BLOCK)?-----/y;
  const footer = /-----END[A-Z0-9 ]{0,48}PRIVATE KEY(?: BLOCK)?-----/y;
  // An unterminated key (cut off in a log line) still loses its body: base64 and the
  // literal "\n" of a JSON string.
  const body = /(?:[A-Za-z0-9+/=\s]|\\[nr]){0,65536}/y;
  let out = '';
  let i = 0;
  // The next "-----END" at or after some position: cached because the search start only
  // moves forward, which keeps many BEGINs without an END linear instead of quadratic.
  let endAt = -2;
  const nextEnd = (from: number): number => {
    if (endAt === -1 || endAt >= from) return endAt;
    endAt = s.indexOf('-----END', from);
    return endAt;
  };
  for (;;) {
    const j = s.indexOf('-----BEGIN', i);
    if (j === -1) break;
    header.lastIndex = j;
    const h = header.exec(s);
    if (!h) {
      out += s.slice(i, j + 10);
      i = j + 10;
      continue;
    }
    const bodyStart = j + h[0].length;
    if (mode.keepCode) {
      // Header and footer stay; the run of base64 lines after the header becomes one placeholder.
      body.lastIndex = bodyStart;
      const run = body.exec(s)![0];
      const tokens = run.split(/(?:\s|\\[nr])+/).filter(Boolean);
      const lead = /^(?:\s|\\[nr])*/.exec(run)![0];
      let n = 0;
      while (n < tokens.length && KEY_BODY_TOKEN.test(tokens[n])) n++;
      if (n === 0) {
        out += s.slice(i, bodyStart);
        i = bodyStart;
        continue;
      }
      // Up to the end of the last long base64 token (a short last line stays shown).
      let end = bodyStart + lead.length;
      for (let k = 0; k < n; k++) end = s.indexOf(tokens[k], end) + tokens[k].length;
      out += s.slice(i, bodyStart + lead.length) + placeholder('private_key');
      i = end;
      continue;
    }
    let stop = -1;
    const e = nextEnd(bodyStart);
    if (e !== -1 && e - bodyStart <= 65536) {
      footer.lastIndex = e;
      const f = footer.exec(s);
      if (f) stop = e + f[0].length;
    }
    if (stop === -1) {
      body.lastIndex = bodyStart;
      body.exec(s);
      stop = body.lastIndex;
    }
    out += s.slice(i, j) + placeholder('private_key');
    i = stop;
  }
  return out + s.slice(i);
}

function onePass(input: string, mode: Mode): string {
  let s = redactPrivateKeys(input, mode);
  for (const rule of TOKEN_RULES) {
    // Token alphabets hold no shell-active character: a whole token is literal.
    s = s.replace(rule.re, (m) => (rule.accept && !rule.accept(m) ? m : placeholder(rule.kind)));
  }
  s = s.replace(SLACK_WEBHOOK, (_m, host: string) => host + placeholder('slack_webhook'));
  s = s.replace(AUTH_HEADER, (m, key: string, sep: string, scheme: string | undefined, gap: string | undefined, value: string) => {
    if (isPlaceholder(value) || /^(?:bearer|basic|token|digest|negotiate|apikey)$/i.test(value)) return m;
    const kind = scheme?.toLowerCase() === 'bearer' ? 'bearer_token' : 'authorization';
    // keepCode: the value is glued to the separator, or follows a scheme word that follows a space.
    if (mode.keepCode && (scheme ? !/[ \t]$/.test(sep) : /[ \t]\\?["']?$/.test(sep))) return m;
    return replaceTail(m, value, kind, mode) ?? m;
  });
  s = s.replace(BEARER, (m, lead: string, value: string, offset: number, whole: string) => {
    if (isPlaceholder(value) || !hasDigitAndLetter(value)) return m;
    if (mode.keepCode && !atWordStart(whole, offset)) return m;
    return lead + placeholder('bearer_token');
  });
  s = s.replace(FLAG, (m, key: string, _gap: string, _dq, dv, _sq, sv, bare, offset: number, whole: string) => {
    const value = (dv ?? sv ?? bare) as string;
    if (isPlaceholder(value)) return m;
    if (bare !== undefined && !bareValueIsSecret(value, false)) return m;
    // `X=--password reboot` runs reboot: a flag's argument only when the flag starts a word.
    if (mode.keepCode && !atWordStart(whole, offset)) return m;
    return replaceTail(m, value, kindOfKey(key), mode) ?? m;
  });
  s = s.replace(XML, (m, key: string, value: string) => (isPlaceholder(value) ? m : (replaceTail(m, value, kindOfKey(key), mode) ?? m)));
  s = s.replace(ASSIGN, (m, key: string, sep: string, sepWord: string, ...rest: unknown[]) =>
    redactAssignment(m, key, sep, sepWord, rest.slice(0, 9) as (string | undefined)[], mode),
  );
  s = s.replace(URL_CREDENTIALS, (m, scheme: string, user: string, pass: string) =>
    isPlaceholder(pass) || (mode.keepCode && literalLead(pass) !== pass) ? m : `${scheme}${user}:${placeholder('url_password')}@`,
  );
  return s;
}

function redactWith(text: string, mode: Mode): string {
  if (typeof text !== 'string') return text;
  let s = text;
  for (let i = 0; i < 4; i++) {
    const next = onePass(s, mode);
    if (next === s) return s;
    s = next;
  }
  return s;
}

/**
 * Replaces secret values in free text with `[REDACTED:<kind>]`. Idempotent: a later pass
 * could only ever find something an earlier rule's output exposed, so passes repeat until
 * nothing changes (in practice one, plus the pass that confirms it).
 */
export function redact(text: string): string {
  return redactWith(text, PLAIN);
}

/**
 * Redaction for a command (or any tool input) a person is asked to approve: literal secret
 * values go, while command substitutions, backticks, pipes, `;`, `&&`, redirections, process
 * substitution, here-documents and every word that could run stay as they are. Where the two
 * conflict, the code is shown (see "commands shown for approval" above). Idempotent.
 */
export function redactKeepingCode(text: string): string {
  return redactWith(text, KEEP_CODE);
}

/** True when `key` names a secret (so its value is redacted whatever it looks like). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY_NAME.test(key) || HEADER_KEY_NAME.test(key);
}

const MAX_DEPTH = 32;

/**
 * Deep redaction of a value about to be logged: every string goes through `redact`, and
 * any value stored under a key that names a secret (`{password: "…"}`, `{Authorization: …}`)
 * is replaced whole, since on its own it may look like nothing. Returns new objects; the
 * input is not modified. Cycles and excessive depth become markers rather than errors.
 */
export function redactValue(value: unknown, key?: string): unknown {
  return walk(value, key, 0, new WeakSet());
}

/** Fields that hold a command shown to a person for approval: redacted the same way wherever they are written. */
const APPROVAL_TEXT_KEYS = new Set(['input_summary']);

function walk(value: unknown, key: string | undefined, depth: number, seen: WeakSet<object>): unknown {
  if (key !== undefined && APPROVAL_TEXT_KEYS.has(key) && typeof value === 'string') return redactKeepingCode(value);
  if (key !== undefined && isSecretKey(key)) {
    if (typeof value === 'string') {
      if (value === '' || isPlaceholder(value) || isPwdPath(key, value)) return value;
      return placeholder(kindOfKey(key));
    }
    if (typeof value === 'number' || typeof value === 'bigint') return placeholder(kindOfKey(key));
  }
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[Too deep]';
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  try {
    if (value instanceof Date) return value;
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[binary ${value.byteLength} bytes]`;
    if (Array.isArray(value)) return value.map((v) => walk(v, key, depth + 1, seen));
    const entries: [string, unknown][] = [];
    if (value instanceof Error) {
      entries.push(['name', value.name], ['message', redact(value.message)]);
      if (value.stack) entries.push(['stack', redact(value.stack)]);
    }
    for (const [k, v] of Object.entries(value)) entries.push([redact(k), walk(v, k, depth + 1, seen)]);
    // fromEntries defines own properties, so a "__proto__" key stays data, not a prototype.
    return Object.fromEntries(entries);
  } finally {
    seen.delete(value);
  }
}
