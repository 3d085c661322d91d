import { join } from 'node:path';
import { SpoolReader } from '../../claude/events.js';
import { agentDirFor } from '../../claude/launch.js';
import { FILE_TOOLS } from '../../claude/hook-record.js';
import { insideRoot } from './git-diff.js';

/**
 * The files an agent that shares the session root wrote or edited, as its PostToolUse hooks
 * recorded them (Write, Edit, MultiEdit, NotebookEdit carry `file_path`): every conversation
 * it has had, paths inside the root only, first write first. A file changed by a Bash
 * command is not among them: hooks do not say what a command touched.
 */
export async function filesWrittenBy(
  runtimeDir: string,
  agent: { claudeSessionId: string | null; pastClaudeSessionIds: string[] },
  root: string,
): Promise<{ path: string; since: number }[]> {
  const ids = [...agent.pastClaudeSessionIds, ...(agent.claudeSessionId ? [agent.claudeSessionId] : [])];
  const seen = new Map<string, number>();
  for (const id of ids) {
    const spool = new SpoolReader(join(agentDirFor(runtimeDir, id), 'events.jsonl'));
    for (const r of await spool.refresh()) {
      if (r.event !== 'PostToolUse' || !r.file_path || !FILE_TOOLS.has(r.tool_name ?? '')) continue;
      const path = insideRoot(root, r.file_path);
      if (path && !seen.has(path)) seen.set(path, r.ts);
    }
  }
  return [...seen].map(([path, since]) => ({ path, since }));
}
