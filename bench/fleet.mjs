/**
 * The fleet: one tabcrew session `fleet` of stand-in agents in a private tmux server,
 * created in-process (so backend round trips can be counted) and grown on demand. The
 * server scenarios later start `tabcrew serve` on the same state, runtime dir and socket,
 * as a restarted tabcrew would: it adopts the live tabs.
 */
import { inBatches, openInProcess } from './support.mjs';

export const FLEET_SESSION = 'fleet';
const PARALLEL = 8;

export async function fleet(ctx) {
  if (ctx.shared.fleet) return ctx.shared.fleet;
  const dirs = ctx.dirs('fleet');
  const socket = ctx.socket('fleet');
  const stack = await openInProcess(ctx, { dirs, socket });
  const root = ctx.root('fleet');
  await stack.supervisor.createSession({ root, name: FLEET_SESSION });
  ctx.shared.fleet = { dirs, socket, stack, root, session: FLEET_SESSION, size: 0 };
  return ctx.shared.fleet;
}

/** Grows the fleet to `n` agents, `PARALLEL` create_agent calls at a time; all must reach idle. */
export async function growFleet(ctx, n) {
  const f = await fleet(ctx);
  const missing = n - f.size;
  if (missing <= 0) return f;
  const made = await inBatches(missing, PARALLEL, () => f.stack.supervisor.createAgent({ session: f.session }));
  const notIdle = made.filter((a) => a.status !== 'idle');
  if (notIdle.length)
    throw new Error(`${notIdle.length} fleet agents did not reach idle: ${notIdle.map((a) => `${a.agent} ${a.status} ${a.note ?? ''}`).join('; ')}`);
  f.size = n;
  return f;
}
