import { describe, expect, it } from 'vitest';
import { renderAdderPrompt } from '../../src/claude/prompt.js';

describe('the ADDER+ prompt', () => {
  it('names the agent, its root, its role and its peers, and explains the TODO.md protocol', () => {
    const p = renderAdderPrompt({ agent: 'Agent_3', session: 'app', root: '/w/app', role: 'tests', peers: ['Agent_1', 'Agent_2'] });
    expect(p).toContain('You are **Agent_3**');
    expect(p).toContain('`/w/app`');
    expect(p).toContain('Your role: tests');
    expect(p).toContain('Agent_1, Agent_2');
    expect(p).toMatch(/Claim.*TODO\.md|TODO\.md[\s\S]*Claim/);
    expect(p).not.toMatch(/\{\{\w+\}\}/);
  });

  it('does not expand placeholders that arrive inside values', () => {
    const p = renderAdderPrompt({ agent: 'Agent_1', session: 's', root: '/r', role: '{{agent}} and {{root}}', peers: [] });
    expect(p).toContain('Your role: {{agent}} and {{root}}');
  });

  it('names the session root as the working directory of an agent without a worktree', () => {
    const p = renderAdderPrompt({ agent: 'Agent_1', session: 's', root: '/w/app', peers: [] });
    expect(p).toContain('Session root (your working directory; stay inside it): `/w/app`');
  });

  it("names a worktree agent's worktree and branch as its working directory, not the session root", () => {
    const p = renderAdderPrompt({
      agent: 'Agent_2',
      session: 's',
      root: '/w/app',
      worktree: { path: '/w/.tabcrew-worktrees/app/Agent_2', branch: 'tabcrew/Agent_2' },
      peers: [],
    });
    expect(p).toContain('Your working directory (stay inside it): `/w/.tabcrew-worktrees/app/Agent_2`');
    expect(p).toContain('branch `tabcrew/Agent_2`');
    expect(p).not.toContain('Session root (your working directory');
    expect(p).toMatch(/Session root \(shared with the other agents; do not edit files there\): `\/w\/app`/);
    expect(p).not.toMatch(/\{\{\w+\}\}/);
  });
});
