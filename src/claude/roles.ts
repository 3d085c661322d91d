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

export const roleSchema = z
  .object({
    id: z.string().regex(ROLE_ID, 'a role id is lowercase letters, digits and _, starting with a letter (at most 64), e.g. "backend_developer"'),
    title: z
      .string()
      .min(1)
      .max(80)
      .regex(/^[^\p{Cc}]+$/u, 'one line of plain text'),
    guidance: z.string().min(1).max(MAX_ROLE_GUIDANCE_CHARS),
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
      'You make the project understandable: README, guides, reference docs and code comments that say why. Check every example against the code, keep the docs next to what they describe, and write for a newcomer.',
  },
  {
    id: 'code_reviewer',
    title: 'Code reviewer',
    guidance:
      'You review, you do not rewrite: read the change, find bugs, races, security holes and unclear names, and report each finding with file, line, why it matters and a concrete fix. Say clearly when a change is fine.',
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
  },
  {
    id: 'data_analyst',
    title: 'Data analyst',
    guidance:
      'You answer questions with data: find the sources, clean and check them, compute with reproducible scripts, and report numbers with how they were obtained and how far they can be trusted.',
  },
];

/** The role an agent was given: one of the catalogue, or the caller's own text. */
export type ResolvedRole = { id: string; title: string; guidance: string; custom: false } | { title: string; custom: true };

export class RoleCatalogue {
  private readonly byId = new Map<string, Role>();

  constructor(extra: readonly Role[] = []) {
    for (const r of [...BUILTIN_ROLES, ...extra]) this.byId.set(r.id, r);
  }

  list(): Role[] {
    return [...this.byId.values()];
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
    throw new Error(`--roles-file ${path}: ${where}: ${issue.message}. Expected { roles: [{ id, title, guidance }] } (see docs/coordination.md#roles).`);
  }
  const seen = new Set<string>();
  for (const r of parsed.data.roles) {
    if (seen.has(r.id)) throw new Error(`--roles-file ${path}: role "${r.id}" is defined twice: keep one.`);
    seen.add(r.id);
  }
  return parsed.data.roles;
}
