import { z, type ZodRawShape, type ZodTypeAny } from 'zod';

/*
 * How a tool's schemas change on a front: one optional `node` argument, and results that
 * may name nodes (a `node` on the result and on each listed entry, `nodes` with one report
 * per node of a fan-out). Done on whatever schema a tool registers, so new tools get it too.
 */

export const nodeParam = z
  .string()
  .min(1)
  .max(32)
  .optional()
  .describe(
    'Which machine of the crew: "local" (the default) or a node given to the front with --node (tabcrew nodes lists them); "*" asks every node at once (read-only tools; a listing without a target does that by itself).',
  );

export const nodeOutcome = z.object({
  node: z.string(),
  ok: z.boolean(),
  error: z.string().optional(),
  fix: z.string().optional(),
  note: z.string().optional(),
});

type Shape = ZodRawShape;

function shapeOf(schema: unknown): Shape | undefined {
  if (schema === undefined) return undefined;
  if (schema instanceof z.ZodObject) return schema.shape as Shape;
  if (schema && typeof schema === 'object' && !(schema instanceof z.ZodType)) return schema as Shape;
  return undefined;
}

export function withNodeParam(input: unknown): Shape | unknown {
  const shape = shapeOf(input);
  if (input !== undefined && !shape) return input; // a union or other non-object schema: left as it is
  return { ...(shape ?? {}), node: nodeParam };
}

function withNodeEntries(t: ZodTypeAny): ZodTypeAny {
  if (t instanceof z.ZodOptional) return withNodeEntries(t.unwrap()).optional();
  if (t instanceof z.ZodArray && t.element instanceof z.ZodObject) {
    return z.array(
      (t.element as z.ZodObject<Shape>).extend({
        node: z.string().optional(),
        ambiguous: z.string().optional().describe('Set when this session name is on more than one node: pass node to pick one.'),
      }),
    );
  }
  return t;
}

export function withNodeFields(output: unknown): Shape | unknown {
  const shape = shapeOf(output);
  if (!shape) return output;
  const next: Shape = {};
  for (const [k, v] of Object.entries(shape)) next[k] = withNodeEntries(v);
  return {
    ...next,
    node: z.string().optional().describe('The node that answered.'),
    nodes: z.array(nodeOutcome).optional().describe('For a call that went to every node: how each one answered.'),
  };
}
