import { existsSync } from 'node:fs';
import type { AgentRecord, SessionRecord } from '../../store/types.js';
import { baseOf, commitOf } from './changes.js';
import { git, untrackedFiles } from './git-diff.js';
import { WrittenFiles } from './hook-files.js';
import { mapLimited } from '../../util/map-limited.js';

/*
 * Overlaps while they happen: a path two agents of one session have both changed — a worktree
 * agent's branch and working tree against where it left the base, an agent sharing the root
 * by the files its hooks say it wrote. Listed by get_session_status; `since` is when this
 * server first saw the overlap. Read at most every few seconds per session: every worktree
 * agent costs a handful of git runs.
 */

export interface Overlap {
  path: string;
  agents: string[];
  since: string;
}

const FRESH_MS = 3000;

/** git runs of worktree agents at once: 64 agents' git at once would starve the agents on a laptop. */
const GIT_AT_ONCE = 4;

async function pathsOf(session: SessionRecord, agent: AgentRecord, written: WrittenFiles): Promise<string[]> {
  const tree = agent.worktree;
  if (!tree) return (await written.of(agent, session.root)).map((f) => f.path);
  if (!existsSync(tree.path)) return [];
  const base = await baseOf(session.root, agent);
  const tip = await commitOf(tree.path, 'HEAD');
  if (!tip) return [];
  const mergeBase = (await git(session.root, ['merge-base', base.commit, tip], 'find where the branch left its base')).trim();
  const tracked = (await git(tree.path, ['diff', '--name-only', '--no-renames', '-z', mergeBase, '--'], 'list the changed files')).split('\0').filter(Boolean);
  return [...tracked, ...(await untrackedFiles(tree.path))];
}

/** A pair of agents newly seen to have changed one path. */
export interface NewOverlap {
  session_id: string;
  path: string;
  agents: [string, string];
  since: string;
}

export class OverlapWatch {
  /** `session\0path` → when first seen overlapping. */
  private readonly firstSeen = new Map<string, number>();
  /** `session\0path\0a\0b`: pairs already announced (once per pair and path while this server runs). */
  private readonly announced = new Set<string>();
  private readonly cache = new Map<string, { at: number; overlaps: Overlap[] }>();
  private readonly written: WrittenFiles;

  constructor(
    runtimeDir: string,
    private readonly onNew: (o: NewOverlap) => void = () => undefined,
  ) {
    this.written = new WrittenFiles(runtimeDir);
  }

  /**
   * `shared: false` (the background look for new overlaps) reads afresh and leaves nothing for
   * status calls: a status call just after an agent's turn must not get what a look before
   * that turn saw. Status calls share one read per FRESH_MS.
   */
  async overlaps(session: SessionRecord, agents: AgentRecord[], opts: { shared?: boolean } = {}): Promise<Overlap[]> {
    const shared = opts.shared !== false;
    const cached = shared ? this.cache.get(session.id) : undefined;
    if (cached && Date.now() - cached.at < FRESH_MS) return cached.overlaps;
    const byPath = new Map<string, string[]>();
    // An agent whose git cannot be read (a branch gone, a base deleted) has no say in overlaps.
    const changed = await mapLimited(agents, GIT_AT_ONCE, (agent) => pathsOf(session, agent, this.written).catch((): string[] => []));
    agents.forEach((agent, i) => {
      for (const p of new Set(changed[i])) byPath.set(p, [...(byPath.get(p) ?? []), agent.name]);
    });
    const now = Date.now();
    const overlaps: Overlap[] = [];
    const live = new Set<string>();
    for (const [path, names] of [...byPath].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (names.length < 2) continue;
      const key = `${session.id}\0${path}`;
      live.add(key);
      if (!this.firstSeen.has(key)) this.firstSeen.set(key, now);
      const since = new Date(this.firstSeen.get(key)!).toISOString();
      overlaps.push({ path, agents: names, since });
      for (let i = 0; i < names.length; i++) {
        for (let j = i + 1; j < names.length; j++) {
          const pair = `${key}\0${names[i]}\0${names[j]}`;
          if (this.announced.has(pair)) continue;
          this.announced.add(pair);
          this.onNew({ session_id: session.id, path, agents: [names[i]!, names[j]!], since });
        }
      }
    }
    for (const key of this.firstSeen.keys()) if (key.startsWith(`${session.id}\0`) && !live.has(key)) this.firstSeen.delete(key);
    if (shared) this.cache.set(session.id, { at: now, overlaps });
    return overlaps;
  }
}
