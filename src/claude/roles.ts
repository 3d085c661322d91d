import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * What an agent is for. A role is an id the caller names (`create_agent {role:
 * "backend_developer"}`), a title people read, and the guidance rendered into the agent's
 * ADDER+ prompt. Ten come with tabcrew; a roles file (--roles-file) adds roles or replaces
 * one of these by id. A role that is not an id is the caller's own text ("custom").
 */

export const ROLE_ID = /^[a-z][a-z0-9_]{0,63}$/;
export const MAX_ROLE_GUIDANCE_CHARS = 4000;

/**
 * One Claude Code permission rule: a tool name (`Write`, `mcp__server__tool`), optionally
 * with a specifier in parentheses (`Bash(npm test *)`, `Edit(docs/**)`, `Read(//etc/**)`).
 * Checked for its shape only; what the specifier means is Claude Code's business. It
 * reaches a JSON settings file, never argv or a shell.
 */
export const PERMISSION_RULE = /^[A-Za-z][A-Za-z0-9_-]{0,127}(\([^\p{Cc}]+\))?$/u;
export const PERMISSION_RULE_HINT =
  'a Claude Code permission rule: a tool name, optionally with a specifier in parentheses, on one line, e.g. "Write", "Bash(npm test *)", "Edit(docs/**)"';
const ruleSchema = z.string().max(500).regex(PERMISSION_RULE, PERMISSION_RULE_HINT);

/** What a role may do, as a roles file writes it. */
export const rolePermissionsSchema = z
  .object({
    /** No file edits and no writing Bash (READ_ONLY_DENY); in the OS sandbox the agent's root is shown read-only. */
    read_only: z.boolean().optional(),
    allow: z.array(ruleSchema).max(100).optional(),
    deny: z.array(ruleSchema).max(100).optional(),
  })
  .strict();
export type RolePermissions = z.infer<typeof rolePermissionsSchema>;

/** A role's permissions as they reach the agent: read_only expanded into its deny rules. */
export interface EffectivePermissions {
  read_only: boolean;
  allow: string[];
  deny: string[];
}

/**
 * Claude Code's file tools (an `Edit` rule covers every built-in tool that edits files;
 * the others are named too, so a denial names the tool the model asked for).
 */
export const FILE_EDIT_TOOLS = ['Edit', 'Write', 'MultiEdit', 'NotebookEdit'];

/**
 * "Writing Bash" as rules can name it. Claude Code matches a Bash rule against each command
 * of a line (`cd x && rm y` is refused by `Bash(rm *)`), so a rule can refuse the programs
 * whose purpose is to change files: the file utilities, in-place editors, git commands that
 * write the checkout or its history. It cannot refuse what it does not see as a command:
 * redirections (Claude Code 2.1.332 matches the command without them: `Bash(*>*)` did not
 * stop `echo x > f`), `python3 -c 'open(…, "w")'`, `node -e`, a script, `npm install`,
 * `make`. That is what the OS sandbox's read-only root is for; the rules are the early,
 * explained refusal (docs/security.md#roles-and-permissions).
 */
export const WRITING_BASH = [
  'Bash(tee *)',
  'Bash(rm *)',
  'Bash(rmdir *)',
  'Bash(mv *)',
  'Bash(cp *)',
  'Bash(ln *)',
  'Bash(touch *)',
  'Bash(mkdir *)',
  'Bash(truncate *)',
  'Bash(dd *)',
  'Bash(chmod *)',
  'Bash(install *)',
  'Bash(sed -i*)',
  'Bash(perl -i*)',
  ...[
    'add',
    'am',
    'apply',
    'checkout',
    'cherry-pick',
    'clean',
    'commit',
    'merge',
    'mv',
    'pull',
    'push',
    'rebase',
    'reset',
    'restore',
    'revert',
    'rm',
    'stash',
    'switch',
  ].map((c) => `Bash(git ${c} *)`),
];

export const READ_ONLY_DENY = [...FILE_EDIT_TOOLS, ...WRITING_BASH];

/** The rules an agent of this role gets (none for a role without permissions). */
export function effectivePermissions(p: RolePermissions | undefined): EffectivePermissions {
  const readOnly = p?.read_only === true;
  const deny = [...(readOnly ? READ_ONLY_DENY : []), ...(p?.deny ?? [])];
  return { read_only: readOnly, allow: [...new Set(p?.allow ?? [])], deny: [...new Set(deny)] };
}

export const roleSchema = z
  .object({
    id: z.string().regex(ROLE_ID, 'a role id is lowercase letters, digits and _, starting with a letter (at most 64), e.g. "backend_developer"'),
    title: z
      .string()
      .min(1)
      .max(80)
      .regex(/^[^\p{Cc}]+$/u, 'one line of plain text'),
    guidance: z.string().min(1).max(MAX_ROLE_GUIDANCE_CHARS),
    permissions: rolePermissionsSchema.optional(),
  })
  .strict();

/** A roles file: `{ roles: [...] }` (JSON or YAML). */
export const rolesFileSchema = z.object({ roles: z.array(roleSchema).max(200) }).strict();

export type Role = z.infer<typeof roleSchema>;

export const BUILTIN_ROLES: readonly Role[] = [
  {
    id: 'general',
    title: 'General software engineer',
    guidance: 'Take whatever the task needs: read the code first, make small, tested changes, and say what you changed and why.',
  },
  {
    id: 'frontend_developer',
    title: 'Frontend developer',
    guidance:
      'You own the user interface: components, styles, client-side state and accessibility. Keep the UI consistent with what is there, check keyboard and screen-reader use, and run the frontend tests and linters before you report done.',
  },
  {
    id: 'backend_developer',
    title: 'Backend developer',
    guidance:
      'You own services, APIs, data models and storage. Validate input at the boundary, keep errors explicit, think about concurrency and migrations, and cover every change with tests that hit the real code path.',
  },
  {
    id: 'testing_specialist',
    title: 'Testing specialist',
    guidance:
      'You make the code proven: write tests named after the behaviour they prove, reproduce reported bugs as failing tests first, keep tests deterministic (no sleeps, no timing asserts) and report coverage gaps you could not close.',
  },
  {
    id: 'documentation_writer',
    title: 'Documentation writer',
    guidance:
      'You make the project understandable: README, guides, reference docs and code comments that say why. Check every example against the code, keep the docs next to what they describe, and write for a newcomer. You edit Markdown files (*.md) only.',
    // Edits of *.md run without asking; any other edit follows the permission mode (asks in
    // `default`, refused in `dontAsk`). Claude Code's rules cannot deny "all but *.md": a deny
    // rule wins over every allow rule.
    permissions: { allow: ['Edit(**/*.md)'] },
  },
  {
    id: 'code_reviewer',
    title: 'Code reviewer',
    guidance:
      'You review, you do not rewrite: read the change, find bugs, races, security holes and unclear names, and report each finding with file, line, why it matters and a concrete fix. Say clearly when a change is fine.',
    permissions: { read_only: true },
  },
  {
    id: 'architect',
    title: 'Software architect',
    guidance:
      'You shape the system: layers, module boundaries, interfaces and data flow. Propose designs with their trade-offs, keep dependencies pointing one way, and write decisions down where the team will find them.',
  },
  {
    id: 'debugger',
    title: 'Debugger',
    guidance:
      'You find root causes: reproduce the failure, narrow it down with evidence (logs, bisecting, minimal cases), fix the cause rather than the symptom, and add a test that fails without the fix.',
  },
  {
    id: 'security_analyst',
    title: 'Security analyst',
    guidance:
      'You look for ways the code can be abused: injection, path traversal, secrets in logs, missing authorization, unsafe defaults. Rate each finding by impact, show how it is reached, and propose the smallest fix.',
    permissions: { read_only: true },
  },
  {
    id: 'data_analyst',
    title: 'Data analyst',
    guidance:
      'You answer questions with data: find the sources, clean and check them, compute with reproducible scripts, and report numbers with how they were obtained and how far they can be trusted.',
  },
];

/** The role an agent was given: one of the catalogue, or the caller's own text. */
export type ResolvedRole = { id: string; title: string; guidance: string; permissions?: RolePermissions; custom: false } | { title: string; custom: true };

export class RoleCatalogue {
  private readonly byId = new Map<string, Role>();

  constructor(extra: readonly Role[] = []) {
    for (const r of [...BUILTIN_ROLES, ...extra]) this.byId.set(r.id, r);
  }

  list(): Role[] {
    return [...this.byId.values()];
  }

  /** The catalogue as list_roles shows it: each role with the rules its agents get. */
  view(): (Omit<Role, 'permissions'> & { permissions: EffectivePermissions })[] {
    return this.list().map((r) => ({ id: r.id, title: r.title, guidance: r.guidance, permissions: effectivePermissions(r.permissions) }));
  }

  get(id: string): Role | undefined {
    return this.byId.get(id);
  }

  /** A role id names its role; anything else is kept as the caller's custom text. */
  resolve(role: string): ResolvedRole {
    const r = this.byId.get(role.trim());
    return r ? { ...r, custom: false } : { title: role.trim(), custom: true };
  }
}

/**
 * Reads and validates a roles file; throws an Error that names the file, the entry and
 * the field that is wrong, so tabcrew stops at start instead of launching agents with
 * half a catalogue.
 */
export function loadRolesFile(path: string): Role[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(
      `--roles-file ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give the path of a JSON or YAML file.`,
      { cause: e },
    );
  }
  let data: unknown;
  try {
    data = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(`--roles-file ${path} is not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`, {
      cause: e,
    });
  }
  const parsed = rolesFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : 'the top level';
    throw new Error(
      `--roles-file ${path}: ${where}: ${issue.message}. Expected { roles: [{ id, title, guidance, permissions?: { read_only?, allow?, deny? } }] } (see docs/coordination.md#roles).`,
    );
  }
  const seen = new Set<string>();
  for (const r of parsed.data.roles) {
    if (seen.has(r.id)) throw new Error(`--roles-file ${path}: role "${r.id}" is defined twice: keep one.`);
    seen.add(r.id);
  }
  return parsed.data.roles;
}
