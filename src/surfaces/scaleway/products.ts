import { GIB, PLAN_LIMITS } from '../../core/compute/inputs.ts';
import type { Server } from '../../core/compute/records.ts';
import type { FastifyTypeBox } from '../native/types.ts';

/**
 * Scaleway's commercial types, each a Nimbus plan (CPUs and memory limit). A server whose plan
 * matches none (made through the native API) shows as `NIMBUS-<cpus>C-<memory MiB>M`.
 */
export const COMMERCIAL_TYPES: Record<string, { vcpus: number; memory: number }> = {
  'START1-XS': { vcpus: 1, memory: 1 * GIB },
  VC1S: { vcpus: 2, memory: 2 * GIB },
  VC1M: { vcpus: 4, memory: 4 * GIB },
  VC1L: { vcpus: 6, memory: 8 * GIB },
  C2S: { vcpus: 4, memory: 8 * GIB },
  C2M: { vcpus: 8, memory: 16 * GIB },
  C2L: { vcpus: 8, memory: 32 * GIB },
};

/** What a server is created as when the request names no commercial type. */
export const DEFAULT_COMMERCIAL_TYPE = 'START1-XS';

export function commercialTypeOf(server: Pick<Server, 'vcpus' | 'memory_bytes'>): string {
  const found = Object.entries(COMMERCIAL_TYPES).find(([, plan]) => plan.vcpus === server.vcpus && plan.memory === server.memory_bytes);
  return found?.[0] ?? `NIMBUS-${server.vcpus}C-${Math.round(server.memory_bytes / (1024 * 1024))}M`;
}

/** `GET /products/servers`: every commercial type with its plan and its volume limits. */
export function productRoutes(app: FastifyTypeBox): void {
  const servers = Object.fromEntries(
    Object.entries(COMMERCIAL_TYPES).map(([name, plan]) => [
      name,
      {
        alt_names: [],
        arch: 'x86_64',
        ncpus: plan.vcpus,
        ram: plan.memory,
        baremetal: false,
        volumes_constraint: { min_size: PLAN_LIMITS.rootVolume.min, max_size: PLAN_LIMITS.volume.max },
        per_volume_constraint: { l_ssd: { min_size: PLAN_LIMITS.volume.min, max_size: PLAN_LIMITS.volume.max } },
      },
    ]),
  );
  app.get('/products/servers', async () => ({ servers }));
}
