import { createHash } from 'node:crypto';
import { claudeConfigDir } from './watch.js';

/**
 * How Claude Code tells that the API refused a turn for a rate or usage limit, and which
 * credential ("account") its agents share. Observed on 2.1.332 (docs/claude-code-facts.md,
 * "Usage limits"): the turn ends with StopFailure `error: "rate_limit"` and the transcript's
 * API-error line (`isApiErrorMessage: true`, `error: "rate_limit"`) carries, for a
 * subscription's usage limit, `apiError: "usage_limit_reached"` and
 * `apiErrorParams.rate_limit_info.resetsAt` (epoch seconds). A plain 429 carries no reset time.
 */
export interface LimitHit {
  kind: 'usage_limit' | 'rate_limit';
  /** When the limit resets (epoch ms): usage limits only. */
  resetsAt?: number;
  /** Claude Code's name of the limit (`five_hour`, `seven_day`, …), when given. */
  limitType?: string;
}

interface ApiErrorLine {
  type?: string;
  isApiErrorMessage?: boolean;
  error?: unknown;
  apiError?: unknown;
  apiErrorStatus?: unknown;
  apiErrorParams?: { rate_limit_info?: { resetsAt?: unknown; rateLimitType?: unknown } };
  message?: { role?: string; content?: unknown };
}

function isPrompt(l: ApiErrorLine): boolean {
  if (l.type !== 'user' || l.message?.role !== 'user') return false;
  const c = l.message.content;
  return typeof c === 'string' || (Array.isArray(c) && !c.some((b: { type?: string }) => b?.type === 'tool_result'));
}

/**
 * The limit that ended the transcript's latest turn, if one did: the last API-error line after
 * the last prompt. Reads from the end (a long transcript's tail is enough).
 */
export function limitHitIn(transcript: string): LimitHit | undefined {
  const lines = transcript.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const s = lines[i].trim();
    if (!s.startsWith('{')) continue;
    let l: ApiErrorLine;
    try {
      l = JSON.parse(s) as ApiErrorLine;
    } catch {
      continue; // a half-written last line
    }
    if (isPrompt(l)) return undefined;
    if (l.type !== 'assistant' || !l.isApiErrorMessage) continue;
    if (l.error !== 'rate_limit' && l.apiErrorStatus !== 429) return undefined;
    const info = l.apiErrorParams?.rate_limit_info;
    const resets = typeof info?.resetsAt === 'number' && Number.isFinite(info.resetsAt) ? info.resetsAt * 1000 : undefined;
    if (l.apiError === 'usage_limit_reached' && resets !== undefined) {
      return { kind: 'usage_limit', resetsAt: resets, ...(typeof info?.rateLimitType === 'string' ? { limitType: info.rateLimitType.slice(0, 40) } : {}) };
    }
    return { kind: 'rate_limit' };
  }
  return undefined;
}

/** Which kind of credential the agents use, in Claude Code's order of preference. */
export type AccountKind = 'oauth_token' | 'auth_token' | 'api_key' | 'login';

export interface Account {
  /** `acct-` + 12 hex of a sha256 over the credential: the same credential, the same id; never the credential. */
  id: string;
  kind: AccountKind;
}

/**
 * The account the agents of this environment share: the credential Claude Code will use
 * (a long-lived OAuth token, a bearer token, an API key, else the login stored in its config
 * folder), keyed by a fingerprint that cannot be turned back into it.
 */
export function accountOf(env: NodeJS.ProcessEnv): Account {
  const base = env.ANTHROPIC_BASE_URL?.trim() ?? '';
  const pick: [AccountKind, string | undefined][] = [
    ['oauth_token', env.CLAUDE_CODE_OAUTH_TOKEN],
    ['auth_token', env.ANTHROPIC_AUTH_TOKEN],
    ['api_key', env.ANTHROPIC_API_KEY],
  ];
  const found = pick.find(([, v]) => v?.trim());
  const [kind, secret] = found ? [found[0], found[1]!.trim()] : (['login', claudeConfigDir(env)] as const);
  const id = createHash('sha256').update(`tabcrew-account\0${kind}\0${base}\0${secret}`, 'utf8').digest('hex').slice(0, 12);
  return { id: `acct-${id}`, kind };
}
