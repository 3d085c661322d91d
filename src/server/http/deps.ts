import type { ToolDeps } from '../tool-kit.js';

/**
 * ToolDeps for one more McpServer over the same supervisor. Not a copy ({ ...deps }): that
 * would read the supervisor getter before the state is open. On a front with nodes it is
 * routed as the stdio server is, so HTTP clients and the dashboard see the whole crew.
 */
export function depsFor(base: ToolDeps, clientName?: () => string | undefined, audit: () => ToolDeps['audit'] = () => base.audit): ToolDeps {
  return {
    log: base.log,
    ready: base.ready,
    get supervisor() {
      return base.supervisor;
    },
    get audit() {
      return audit();
    },
    clientName,
    routeTools: base.routeTools,
    routeResource: base.routeResource,
    calls: base.calls,
  };
}
