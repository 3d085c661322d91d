import { join } from 'node:path';
import { SpoolReader } from '../../claude/events.js';
import { agentDirFor } from '../../claude/launch.js';
import { FILE_TOOLS } from '../../claude/hook-record.js';
import { insideRoot } from './git-diff.js';

/** Conversations whose writes are remembered at most; past it they are read afresh. */
const MAX_CONVERSATIONS = 1024;

/**
 * The files an agent that shares the session root wrote or edited, as its PostToolUse hooks
 * recorded them (Write, Edit, MultiEdit, NotebookEdit carry `file_path`): every conversation
 * it has had, paths inside the root only, first write first. A file changed by a Bash
 * command is not among them: hooks do not say what a command touched.
 *
 * Each conversation's spool is read incrementally and only the written paths are kept, so a
 * look every few seconds (the overlaps of a status) parses only what the hooks appended since.
 */
export class WrittenFiles {
  private readonly conversations = new Map<string, { spool: SpoolReader; written: Map<string, number> }>();

  constructor(private readonly runtimeDir: string) {}

  async of(agent: { claudeSessionId: string | null; pastClaudeSessionIds: string[] }, root: string): Promise<{ path: string; since: number }[]> {
    const ids = [...agent.pastClaudeSessionIds, ...(agent.claudeSessionId ? [agent.claudeSessionId] : [])];
    const seen = new Map<string, number>();
    for (const id of ids) {
      for (const [file, ts] of await this.writtenIn(id)) {
        const path = insideRoot(root, file);
        if (path && !seen.has(path)) seen.set(path, ts);
      }
    }
    return [...seen].map(([path, since]) => ({ path, since }));
  }

  private async writtenIn(claudeSessionId: string): Promise<Map<string, number>> {
    let c = this.conversations.get(claudeSessionId);
    if (!c) {
      if (this.conversations.size >= MAX_CONVERSATIONS) this.conversations.clear();
      c = { spool: new SpoolReader(join(agentDirFor(this.runtimeDir, claudeSessionId), 'events.jsonl'), { keep: false }), written: new Map() };
      this.conversations.set(claudeSessionId, c);
    }
    for (const r of await c.spool.refresh()) {
      if (r.event !== 'PostToolUse' || !r.file_path || !FILE_TOOLS.has(r.tool_name ?? '')) continue;
      // A replaced spool (a relaunch) is read again from its start: the first write stays first.
      if (!c.written.has(r.file_path)) c.written.set(r.file_path, r.ts);
    }
    return c.written;
  }
}

/** The same, read once (a review of one agent's changes). */
export function filesWrittenBy(
  runtimeDir: string,
  agent: { claudeSessionId: string | null; pastClaudeSessionIds: string[] },
  root: string,
): Promise<{ path: string; since: number }[]> {
  return new WrittenFiles(runtimeDir).of(agent, root);
}
