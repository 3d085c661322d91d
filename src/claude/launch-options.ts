/**
 * What a caller may choose about an agent's Claude Code, checked for what each value is
 * before anything is reserved or launched. A model name and a permission mode reach Claude
 * Code's argv: one that starts with `-` would be read as a flag. A role goes into the
 * system prompt: control characters there would reach the model as raw bytes.
 */
/** Claude Code's --permission-mode values (2.1.197; 2.1.330 added `manual`). */
export const PERMISSION_MODES = ['acceptEdits', 'auto', 'bypassPermissions', 'default', 'dontAsk', 'plan', 'manual'] as const;

/**
 * Aliases (`sonnet`, `opus[1m]`), API ids (`claude-sonnet-4-5-20250929`) and provider ids
 * (Bedrock `us.anthropic.claude-…-v1:0`, Vertex `claude-…@20250929`, ARNs with `/`).
 */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@[\]-]{0,199}$/;
export const MODEL_NAME_HINT = 'a model name such as "sonnet" or "claude-sonnet-4-5": letters, digits and . _ : / @ [ ] -, starting with a letter or digit';
export const MAX_ROLE_CHARS = 500;
const CONTROL = /\p{Cc}/u;

export interface LaunchChoices {
  role?: string;
  model?: string;
  permission_mode?: string;
}

/** What is wrong with the choices, said so the caller can fix it; undefined when nothing is. */
export function launchChoiceProblem(c: LaunchChoices): string | undefined {
  if (c.model !== undefined && !MODEL_NAME.test(c.model)) return `model ${JSON.stringify(c.model)} is not ${MODEL_NAME_HINT}.`;
  if (c.permission_mode !== undefined && !(PERMISSION_MODES as readonly string[]).includes(c.permission_mode)) {
    return `permission_mode ${JSON.stringify(c.permission_mode)} is not one of Claude Code's modes: ${PERMISSION_MODES.join(', ')}.`;
  }
  if (c.role !== undefined) return textProblem('role', c.role, MAX_ROLE_CHARS);
  return undefined;
}

/** One line of visible text: no NUL, newline or other control character. */
export function textProblem(what: string, value: string, max: number): string | undefined {
  if (CONTROL.test(value)) return `${what} contains a control character (NUL, newline, escape…): give it as one line of plain text.`;
  if (value.length > max) return `${what} is ${value.length} characters; the limit is ${max}.`;
  return undefined;
}
