/**
 * The real server for the fleet: `node dist/cli.js serve` on the fleet's state, runtime
 * dir and tmux socket (it adopts the fleet's live tabs at start), driven over stdio.
 */
import { growFleet } from './fleet.mjs';
import { startServer } from './support.mjs';

export async function fleetServer(ctx, size = 64) {
  const f = await growFleet(ctx, size);
  if (!ctx.shared.server) ctx.shared.server = await startServer(ctx, { dirs: f.dirs, socket: f.socket, label: 'fleet server' });
  return { f, server: ctx.shared.server };
}
