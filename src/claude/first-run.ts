import { join } from 'node:path';
import type { FirstRunDialog } from './screen.js';

/** What the words about a dialog depend on. */
export interface FirstRunContext {
  /** Where the agent runs (its session root or worktree). */
  root: string;
  /** Claude Code's config file (claudeConfigFile). */
  configFile: string;
  /** false under `serve --no-accept-api-key`. */
  acceptApiKey: boolean;
  /** ANTHROPIC_API_KEY is in tabcrew's environment. */
  hasApiKey: boolean;
}

/**
 * The error for an agent that stopped at a first-run dialog tabcrew does not answer: which
 * dialog, why tabcrew leaves it alone, and what the person does about it. tabcrew answers
 * only the folder trust (the caller asked for an agent in that folder) and what the API key
 * the person gave it settles (the key's approval and Claude Code's first-run setup, both
 * recorded in Claude Code's config before launch, so neither comes); every other answer
 * would be a decision about the person's own setup or project.
 */
export function firstRunDialogProblem(dialog: FirstRunDialog, c: FirstRunContext): string {
  const runOnce = `run \`claude\` once in a terminal in ${c.root}, answer it there, quit, and create the agent again`;
  switch (dialog) {
    case 'api_key_prompt':
      return c.acceptApiKey
        ? `Claude Code stopped at its "Detected a custom API key in your environment … Do you want to use this API key?" dialog, ` +
            `although tabcrew approved ANTHROPIC_API_KEY in ${c.configFile} (that Claude Code may read another config: CLAUDE_CONFIG_DIR). ` +
            `Fix: run \`claude\` once in a terminal with the same environment and choose Yes, then create the agent again.`
        : `Claude Code stopped at its "Detected a custom API key in your environment … Do you want to use this API key?" dialog, ` +
            `which tabcrew leaves to you (serve --no-accept-api-key). Fix: run \`claude\` once in a terminal with that ANTHROPIC_API_KEY and choose Yes; ` +
            `or restart tabcrew without --no-accept-api-key (it then approves the key in ${c.configFile}); ` +
            `or, to use your Claude login instead, remove ANTHROPIC_API_KEY from tabcrew's environment.`;
    case 'onboarding': {
      const finish = 'Fix: run `claude` once in a terminal, finish the setup';
      const why = !c.hasApiKey
        ? `without ANTHROPIC_API_KEY in tabcrew's environment it needs your sign-in, which tabcrew does not do for you. ${finish} (sign in), quit, and create the agent again; or give tabcrew an API key (ANTHROPIC_API_KEY)`
        : !c.acceptApiKey
          ? `tabcrew leaves it to you (serve --no-accept-api-key). ${finish}, quit, and create the agent again; or restart tabcrew without --no-accept-api-key (with the key approved it records the setup as completed in ${c.configFile})`
          : `tabcrew records it as completed only with ANTHROPIC_API_KEY approved, and could not (a key you refused in Claude Code stays refused; a write failure is in tabcrew.log). ${finish}, quit, and create the agent again`;
      return (
        `Claude Code showed its first-run setup ("Welcome to Claude Code": theme, sign-in, security notes): it was never completed ` +
        `for this user (${c.configFile} has no hasCompletedOnboarding), and ${why}.`
      );
    }
    case 'mcp_server_approval':
      return (
        `Claude Code stopped at its "New MCP server found in this project" dialog: ${join(c.root, '.mcp.json')} names MCP servers ` +
        `you have neither allowed nor refused, and tabcrew does not decide which of a project's servers run. ` +
        `Fix: ${runOnce} (Claude Code keeps the answer in ${join(c.root, '.claude', 'settings.local.json')}).`
      );
    case 'external_imports':
      return (
        `Claude Code stopped at its "Allow external CLAUDE.md file imports?" dialog: a CLAUDE.md in ${c.root} imports files from outside it, ` +
        `and tabcrew neither allows nor refuses that for you. Fix: ${runOnce}.`
      );
    case 'bypass_warning':
      return (
        `Claude Code stopped at its "Bypass Permissions mode" warning, which tabcrew's agent settings normally skip ` +
        `(skipDangerousModePermissionPrompt). Fix: run \`claude --dangerously-skip-permissions\` once in a terminal and accept, ` +
        `or create the agent without permission_mode bypassPermissions.`
      );
    case 'trust_dialog':
      return (
        `Claude Code stayed at its folder-trust dialog ("Quick safety check") for ${c.root}, and tabcrew found no ` +
        `"Yes, I trust this folder" option to choose on it. Fix: ${runOnce}, choosing "Yes, I trust this folder".`
      );
  }
}

/** A screen state in words: `api_key_prompt` → "api key prompt". */
export function screenStateWords(state: string): string {
  return state.replaceAll('_', ' ');
}
