/** What create_agent (and an agent's spawn_agent) asks for: checked by AgentLifecycle.createAgent (agents.ts). */
export interface CreateAgentInput {
  session: string;
  role?: string;
  model?: string;
  permission_mode?: string;
  initial_task?: string;
  /** The spawning agent (spawnAgent); the child limits apply. */
  parent?: string;
  max_cost_usd?: number;
  max_tokens?: number;
  timeout_minutes?: number;
  interrupt?: boolean;
  /** "worktree": the agent works in its own git worktree on branch tabcrew/<agent> (supervisor/worktrees.ts). */
  isolation?: 'none' | 'worktree';
  /** Paths its OS sandbox shows too (supervisor/sandbox-choice.ts): `DIR` or `DIR:rw`. */
  sandbox_extra_paths?: string[];
}
