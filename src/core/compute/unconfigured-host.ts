import type { AppHost } from '../../backends/app-host.ts';
import { ComputeUnavailable, type ComputeHost } from '../../backends/compute-host.ts';

/**
 * The host of a process composed without compute settings (an embedding that does not run
 * servers): every call says so, and the services turn that into their 503.
 */
const refuse = async (): Promise<never> => {
  throw new ComputeUnavailable('Compute is not configured in this process: run it with `nimbus serve` (NIMBUS_COMPUTE_DIR, NIMBUS_NETWORK_RANGE) as root with runc installed.');
};

export function unconfiguredComputeHost(): ComputeHost {
  return {
    ensureAvailable: refuse,
    images: { ensureBuiltin: refuse, importArchive: refuse, fromSnapshot: refuse, remove: refuse },
    volumes: { create: refuse, resize: refuse, remove: refuse, snapshot: refuse, removeSnapshot: refuse },
    servers: { create: refuse, start: refuse, stop: refuse, state: refuse, remove: refuse, exec: refuse, terminal: refuse, writeFile: refuse, readFile: refuse, readTree: refuse, facts: refuse },
    sweep: refuse,
    close: async () => undefined,
  };
}

/** The apps host of a process without compute: every call refuses the same way. */
export function unconfiguredAppHost(): AppHost {
  return {
    ensureAvailable: refuse,
    inspectSource: refuse,
    build: refuse,
    promote: refuse,
    removeBuild: refuse,
    removeSlug: refuse,
    slugFromImage: refuse,
    processes: { start: refuse, stop: refuse, running: refuse, readOutput: refuse },
    run: refuse,
    sweep: refuse,
  };
}
