import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redact, redactValue } from '../../src/audit/redact.js';
import { SECRET_CORPUS } from './secret-corpus.js';

/** Ordinary text that mentions secrets or looks a bit like them; redaction must leave it alone. */
const BENIGN = [
  'Enter the password field and press submit.',
  'The token is expired; request a new one.',
  'function tokenize(text) { return text.split(" "); }',
  'const tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
  'max_tokens = 4096',
  'const password = form.elements.password.value;',
  'interface Login { user: string; password: string }',
  'apiKey: process.env.OPENAI_API_KEY,',
  'password = getpass.getpass("Password: ")',
  'if (password.length < 12) throw new Error("too short")',
  'passwordless login via WebAuthn',
  'rotate the api_key every 90 days',
  'The secret to good tests is isolation.',
  '/usr/local/lib/node_modules/typescript/lib/tsc.js',
  'C:\\Users\\dev\\AppData\\Local\\Temp\\build-42\\out.log',
  'session 3f2b8c1e-9d4a-4e7b-8a6f-2c1d0e9b7a53 resumed',
  'commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 (HEAD -> main)',
  'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904',
  'sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'pneumonoultramicroscopicsilicovolcanoconiosis and Supercalifragilisticexpialidocious',
  'sk-learn is the old name of the scikit-learn package',
  'see https://github.com/anthropics/claude-code/issues/123',
  'git clone git@github.com:anthropics/claude-code.git',
  'http://localhost:8080/api/v1/users?page=2&sort=asc',
  'PWD=/home/dev/project\nOLDPWD=/home/dev',
  'Bearer tokens are described in RFC 6750.',
  'tokens: 1532, cost: $0.02',
  'export PATH="$HOME/.local/bin:$PATH"',
  'password: ${DB_PASSWORD}',
  'tmux new-window -t tabcrew -n Agent_1 -c /work/main',
  '-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMBExDzANBgNVBAMMBnVu\n-----END CERTIFICATE-----',
  'eyes on the prize; eyJ alone is not a token',
  'npm install --save-dev @types/node@20',
  'ASIA is a continent; AKIA is a prefix.',
  'The quick brown fox jumps over the lazy dog 1234567890 times.',
  '[REDACTED:password] stays as it is',
];

describe('redact', () => {
  it(`removes every value in a corpus of ${SECRET_CORPUS.length} realistic secrets`, () => {
    expect(SECRET_CORPUS.length).toBeGreaterThanOrEqual(30);
    for (const { context, text, secrets } of SECRET_CORPUS) {
      const out = redact(text);
      for (const s of secrets) expect(out, `${context}: ${out}`).not.toContain(s);
      expect(out, context).toMatch(/\[REDACTED:[a-z_]+\]/);
    }
  });

  it('keeps the label and says what kind of secret was removed', () => {
    expect(redact('Password is: hunter2')).toBe('Password is: [REDACTED:password]');
    expect(redact('PASSWORD="x y"')).toBe('PASSWORD="[REDACTED:password]"');
    expect(redact('"token": "abc"')).toBe('"token": "[REDACTED:token]"');
    expect(redact('api_key = abc')).toBe('api_key = [REDACTED:api_key]');
    expect(redact('--password abc')).toBe('--password [REDACTED:password]');
    expect(redact('https://user:pass@host/x')).toBe('https://user:[REDACTED:url_password]@host/x');
    expect(redact('Authorization: Bearer abc.def-123')).toBe('Authorization: Bearer [REDACTED:bearer_token]');
    expect(redact('AKIAIOSFODNN7EXAMPLE')).toBe('[REDACTED:aws_access_key]');
  });

  it('redacts a bare tabcrew HTTP token (tc_ and 43 base64url characters), wherever it stands', () => {
    const token = `tc_${Buffer.alloc(32, 0xfb).toString('base64url')}`;
    expect(token).toMatch(/^tc_[A-Za-z0-9_-]{43}$/);
    expect(redact(`curl -H x ${token} http://127.0.0.1:8787/api`)).toBe('curl -H x [REDACTED:tabcrew_token] http://127.0.0.1:8787/api');
    expect(redact(`"${token}"`)).toBe('"[REDACTED:tabcrew_token]"');
    expect(redact(`${token}\n`)).toBe('[REDACTED:tabcrew_token]\n');
    // Not a token: shorter, or part of a longer word.
    expect(redact('tc_short tc_ the_tc_thing')).toBe('tc_short tc_ the_tc_thing');
  });

  it('leaves ordinary text alone: code, paths, UUIDs, git SHAs, long words, talk about passwords', () => {
    for (const text of BENIGN) expect(redact(text)).toBe(text);
  });

  it('is idempotent on the corpus', () => {
    for (const { text } of SECRET_CORPUS) {
      const once = redact(text);
      expect(redact(once)).toBe(once);
    }
  });

  // Pieces of secret syntax, mixed with arbitrary text, reach far more rule interactions
  // than uniform random strings do.
  const FRAGMENTS = [
    'password',
    'Password is',
    ' is ',
    'token',
    'api_key',
    '--password ',
    '=',
    ':',
    ': ',
    '"',
    "'",
    '\\"',
    '`',
    ' ',
    '\n',
    '&',
    ';',
    ',',
    '-----BEGIN RSA PRIVATE KEY-----',
    '-----END RSA PRIVATE KEY-----',
    '-----BEGIN',
    '-----END',
    'eyJhbGciOi',
    'eyJ',
    '.',
    '-',
    'sk-ant-',
    'sk-',
    'sk_live_',
    'ghp_',
    'github_pat_',
    'xoxb-',
    'AIza',
    'AKIA',
    'https://',
    'user:',
    '@',
    'hooks.slack.com/services/',
    'Authorization: ',
    'Bearer ',
    '<password>',
    '</password>',
    '[REDACTED:token]',
    '[REDACTED:',
    ']',
    'PWD=/',
    '\u0000',
    '\u202e',
    '\u0301',
    '\u001b[31m',
    'ab12CD34ef56GH78ij90KL12mn34OP56',
    '0123456789abcdef',
    'hunter2',
  ];
  const mixed = fc
    .array(fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ unit: 'binary', maxLength: 12 })), { maxLength: 40 })
    .map((parts) => parts.join(''));

  it('is idempotent and never throws (property, arbitrary and secret-shaped strings)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), mixed), (s) => {
        const once = redact(s);
        expect(redact(once)).toBe(once);
      }),
      { numRuns: 3000 },
    );
  });

  it('never lets a secret value through when it is glued to arbitrary text (property)', () => {
    const secret = fc.constantFrom(
      'ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789',
      'sk-ant-api03-Qx7vN2mK9pL4rT8wZ1yB6cF3hJ5d',
      'AKIAIOSFODNN7EXAMPLE',
      'xoxb-2048-1024-QwErTyUiOpAsDfGhJkLzXcVb',
    );
    const sep = fc.constantFrom(' ', '\n', '"', "'", '(', '=', ': ', '\t', ',');
    fc.assert(
      fc.property(fc.string({ maxLength: 50 }), sep, secret, sep, fc.string({ maxLength: 50 }), (a, s1, sec, s2, b) => {
        expect(redact(`${a}${s1}${sec}${s2}${b}`)).not.toContain(sec.slice(-16));
      }),
      { numRuns: 1000 },
    );
  });

  it('handles 1 MB adversarial inputs in linear time (no catastrophic backtracking)', () => {
    const MB = 1 << 20;
    const fill = (s: string): string => s.repeat(Math.ceil(MB / s.length)).slice(0, MB);
    const inputs = [
      'a',
      'password=',
      '"password": "',
      'password is ',
      '-eyJ',
      'eyJa.',
      'a://b:c@',
      '-----BEGIN PRIVATE KEY-----',
      '-----BEGIN PRIVATE KEY-----x-----END',
      'sk-',
      'ghp_',
      'Bearer ',
      'Authorization: ',
      '--password ',
      'a_',
      'x'.repeat(59) + '_',
      '<password>',
      '[REDACTED:token]',
      'hooks.slack.com/services/',
      '\u0000password\u202e=\u0301',
      '\\"password\\":\\"',
      'AKIAABCD',
    ].map(fill);
    let worst = 0;
    for (const input of inputs) {
      const t = performance.now();
      redact(input);
      worst = Math.max(worst, performance.now() - t);
    }
    // About 0.3 s on a 2-core CI machine; a backtracking blow-up takes minutes.
    expect(worst).toBeLessThan(5000);
  });

  it('handles 1 MB random strings built from secret syntax (property)', () => {
    fc.assert(
      fc.property(mixed, (piece) => {
        const s = (piece || 'x').repeat(Math.ceil((1 << 20) / Math.max(1, piece.length)));
        const t = performance.now();
        const once = redact(s);
        expect(performance.now() - t).toBeLessThan(5000);
        expect(typeof once).toBe('string');
      }),
      { numRuns: 8 },
    );
  });
});

describe('redactValue', () => {
  it('redacts deeply and replaces whole values stored under secret-named keys', () => {
    const input = {
      user: 'bob',
      password: 'plain-looking',
      nested: { apiKey: 'abc', list: ['token=abc123', { client_secret: 42 }] },
      headers: { Authorization: 'opaque', 'x-request-id': 'r-1' },
      note: 'used ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 today',
      pwd: '/home/dev',
    };
    expect(redactValue(input)).toEqual({
      user: 'bob',
      password: '[REDACTED:password]',
      nested: { apiKey: '[REDACTED:api_key]', list: ['token=[REDACTED:token]', { client_secret: '[REDACTED:secret]' }] },
      headers: { Authorization: '[REDACTED:authorization]', 'x-request-id': 'r-1' },
      note: 'used [REDACTED:github_token] today',
      pwd: '/home/dev',
    });
    expect(input.password).toBe('plain-looking');
  });

  it('survives cycles, errors, deep nesting and odd values', () => {
    const a: Record<string, unknown> = { token: 'x1' };
    a.self = a;
    const err = new Error('failed with password=hunter2');
    let deep: Record<string, unknown> = { v: 'end' };
    for (let i = 0; i < 100; i++) deep = { d: deep };
    const out = redactValue({ a, err, deep, n: null, u: undefined, b: 10n, d: new Date(0), buf: Buffer.from('secret') }) as Record<string, any>;
    expect(out.a.self).toBe('[Circular]');
    expect(out.a.token).toBe('[REDACTED:token]');
    expect(out.err.message).toBe('failed with password=[REDACTED:password]');
    expect(out.b).toBe(10n);
    expect(JSON.stringify({ ...out, b: 0 })).not.toContain('hunter2');
    expect(JSON.stringify(out.deep)).toContain('[Too deep]');
    expect(out.buf).toBe('[binary 6 bytes]');
  });

  it('keeps a "__proto__" key as data', () => {
    const v = redactValue(JSON.parse('{"__proto__": {"token": "abc"}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
  });
});
