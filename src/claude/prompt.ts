import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../config.js';
import { fileURLToPath } from 'node:url';

export interface PromptInput {
  agent: string;
  session: string;
  root: string;
  /** The agent's own git worktree (isolation: "worktree"): its working directory instead of the root. */
  worktree?: { path: string; branch: string };
  role?: string;
  /** Set for a role of the catalogue (claude/roles.ts): its title and guidance. */
  roleTitle?: string;
  roleGuidance?: string;
  /** The role may not change files (claude/roles.ts read_only): said, so the model does not try. */
  readOnly?: boolean;
  peers: string[];
}

let template: string | undefined;

// Beside this module when run from src/ or dist/claude/; from the package root when this
// code sits in a bundle chunk elsewhere (see scripts/bundle.mjs).
function loadTemplate(): string {
  if (template === undefined) {
    const candidates = [
      fileURLToPath(new URL('./adder-prompt.md', import.meta.url)),
      join(packageRoot(), 'dist', 'claude', 'adder-prompt.md'),
      join(packageRoot(), 'src', 'claude', 'adder-prompt.md'),
    ];
    template = readFileSync(candidates.find((f) => existsSync(f)) ?? candidates[0], 'utf8');
  }
  return template;
}

/** The ADDER+ protocol for one agent, appended to Claude Code's own system prompt. */
export function renderAdderPrompt(input: PromptInput): string {
  const values: Record<string, string> = {
    agent: input.agent,
    session: input.session,
    root: input.root,
    workdir: workdirLines(input),
    role: input.roleTitle ? `${input.roleTitle} (${input.role})` : input.role?.trim() || 'general software engineer',
    role_guidance:
      (input.roleGuidance ? `\n## Your role: ${input.roleTitle ?? input.role}\n${input.roleGuidance.trim()}\n` : '') +
      (input.readOnly ? '\nYour role is read-only: file edits and commands that write files are refused. Report what you find instead.\n' : ''),
    peers: input.peers.length ? input.peers.join(', ') : 'none yet',
  };
  // One pass with a function replacer: a value containing "{{x}}" is never expanded again.
  return loadTemplate().replace(/\{\{(\w+)\}\}/g, (m, key: string) => values[key] ?? m);
}

// A worktree agent works in its own checkout; naming the root there would send it to edit
// the files the other agents share.
function workdirLines(input: PromptInput): string {
  if (!input.worktree) return `- Session root (your working directory; stay inside it): \`${input.root}\``;
  return [
    `- Your working directory (stay inside it): \`${input.worktree.path}\`, your own git worktree on branch \`${input.worktree.branch}\`; commit your work there`,
    `- Session root (shared with the other agents; do not edit files there): \`${input.root}\``,
  ].join('\n');
}

/** The one-line header that tells an agent who a message is from. */
export function messageHeader(h: { from: string; to: string; session: string; deliveryId: string; kind?: string; messageId?: string }): string {
  // The delivery id stays last: the hook finds it there (hook-record.ts deliveryIdIn).
  const about = h.messageId ? ` · ${h.kind ?? 'note'} · message ${h.messageId}` : '';
  return `[ADDER+ from ${h.from} to ${h.to} · session ${h.session}${about} · delivery ${h.deliveryId}]`;
}
