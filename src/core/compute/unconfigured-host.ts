import { ComputeUnavailable, type ComputeHost } from '../../backends/compute-host.ts';

/**
 * The host of a process composed without compute settings (an embedding that does not run
 * servers): every call says so, and the services turn that into their 503.
 */
export function unconfiguredComputeHost(): ComputeHost {
  const refuse = async (): Promise<never> => {
    throw new ComputeUnavailable('Compute is not configured in this process: run it with `nimbus serve` (NIMBUS_COMPUTE_DIR, NIMBUS_NETWORK_RANGE) as root with runc installed.');
  };
  return {
    ensureAvailable: refuse,
    images: { ensureBuiltin: refuse, importArchive: refuse, fromSnapshot: refuse, remove: refuse },
    volumes: { create: refuse, resize: refuse, remove: refuse, snapshot: refuse, removeSnapshot: refuse },
    servers: { create: refuse, start: refuse, stop: refuse, state: refuse, remove: refuse, exec: refuse, facts: refuse },
    sweep: refuse,
  };
}
