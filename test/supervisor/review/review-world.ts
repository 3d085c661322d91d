import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { silentLogger } from '../../../src/audit/logger.js';
import type { StateStore } from '../../../src/store/state-store.js';
import type { AgentRecord, SessionRecord, State } from '../../../src/store/types.js';
import { ReviewDesk } from '../../../src/supervisor/review/review-desk.js';
import { addWorktree } from '../../../src/supervisor/worktrees.js';
import { agentRecord } from '../../support/records.js';

/*
 * A session root that is a real git repository (branch main, one commit), worktree agents
 * made the way create_agent makes them (addWorktree), and a ReviewDesk over a state held in
 * memory. Messages and audit events are collected for the test to look at.
 */

const made: string[] = [];
export const cleanup = () => made.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));

export const gitIn = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

export function write(dir: string, path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

export function commitAll(dir: string, message: string): string {
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-q', '-m', message);
  return gitIn(dir, 'rev-parse', 'HEAD');
}

export interface World {
  store: Pick<StateStore, 'read' | 'update'>;
  root: string;
  state: State;
  session: SessionRecord;
  desk: ReviewDesk;
  told: { agent: string; text: string }[];
  audit: Record<string, unknown>[];
  runtimeDir: string;
  addAgent(name: string, opts?: { worktree?: boolean; extra?: Partial<AgentRecord> }): Promise<AgentRecord>;
  head(ref?: string): string;
}

export function world(opts: { mergeCheck?: string; tellFails?: string } = {}): World {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tabcrew-review-')));
  made.push(dir);
  const root = join(dir, 'repo');
  const runtimeDir = join(dir, 'runtime');
  mkdirSync(root);
  gitIn(root, 'init', '-q', '-b', 'main');
  gitIn(root, 'config', 'user.name', 'Test Person');
  gitIn(root, 'config', 'user.email', 'person@example.test');
  write(root, 'README.md', 'hello\n');
  write(root, 'src/app.txt', 'one\ntwo\nthree\n');
  commitAll(root, 'first');
  const session: SessionRecord = { id: 's-1', name: 'repo', root, createdAt: new Date().toISOString() };
  const state = { version: 2, nextAgentNumber: 1, sessions: [session], agents: [], generation: 1 } as unknown as State;
  const told: World['told'] = [];
  const audit: World['audit'] = [];
  const store = { read: async () => structuredClone(state), update: async (change) => change(state) } as World['store'];
  const desk = new ReviewDesk({
    store,
    runtimeDir,
    log: silentLogger,
    audit: { append: async (e) => void audit.push(e as Record<string, unknown>) } as never,
    tell: async (_s, agent, text) => {
      if (opts.tellFails) throw new Error(opts.tellFails);
      told.push({ agent, text });
    },
    env: process.env,
    ...(opts.mergeCheck ? { mergeCheck: { command: opts.mergeCheck, timeoutMs: 30_000 } } : {}),
  });
  return {
    store,
    root,
    state,
    session,
    desk,
    told,
    audit,
    runtimeDir,
    async addAgent(name, o = {}) {
      const a = agentRecord({ name, claudeSessionId: `00000000-0000-4000-8000-${String(state.agents.length + 1).padStart(12, '0')}`, ...o.extra });
      if (o.worktree !== false) {
        const t = await addWorktree(root, name);
        a.worktree = { path: t.path, branch: t.branch, base: t.base };
      }
      state.agents.push(a);
      return a;
    },
    head: (ref = 'main') => gitIn(root, 'rev-parse', ref),
  };
}
