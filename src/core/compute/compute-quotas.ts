import type { OrganizationIds, QuotaService } from '../quotas/quota-service.ts';
import { asNumber, type Executor } from './context.ts';

/**
 * Compute's quotas: how each of its resources is counted (over a whole subtree), and what each
 * change adds, checked inside the transaction that makes it. Root volumes count toward
 * `volume_bytes` (they use the disk) but not toward the `volumes` count (that counts what users
 * create themselves).
 */
export function computeQuotas(quotas: QuotaService) {
  const count = (table: 'servers' | 'snapshots' | 'images') => async (executor: Executor, organizations: OrganizationIds) => {
    const row = await executor.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('organization_id', 'in', organizations).executeTakeFirst();
    return asNumber(row?.n);
  };
  const serverSum = (column: 'vcpus' | 'memory_bytes') => async (executor: Executor, organizations: OrganizationIds) => {
    const row = await executor.selectFrom('servers').select((eb) => eb.fn.sum<number>(column).as('total')).where('organization_id', 'in', organizations).executeTakeFirst();
    return asNumber(row?.total);
  };
  quotas.defineMeter('servers', count('servers'));
  quotas.defineMeter('snapshots', count('snapshots'));
  quotas.defineMeter('images', count('images'));
  quotas.defineMeter('vcpus', serverSum('vcpus'));
  quotas.defineMeter('memory_bytes', serverSum('memory_bytes'));
  quotas.defineMeter('volumes', async (executor, organizations) => {
    const row = await executor.selectFrom('volumes').select((eb) => eb.fn.countAll<number>().as('n')).where('organization_id', 'in', organizations).where('volume_type', '=', 'data').executeTakeFirst();
    return asNumber(row?.n);
  });
  quotas.defineMeter('volume_bytes', async (executor, organizations) => {
    const row = await executor.selectFrom('volumes').select((eb) => eb.fn.sum<number>('size_bytes').as('total')).where('organization_id', 'in', organizations).executeTakeFirst();
    return asNumber(row?.total);
  });

  // An image counts 0 until it is ready: what it unpacked to is known only then.
  quotas.defineMeter('image_bytes', async (executor, organizations) => {
    const row = await executor.selectFrom('images').select((eb) => eb.fn.sum<number>('size_bytes').as('total')).where('organization_id', 'in', organizations).executeTakeFirst();
    return asNumber(row?.total);
  });

  return {
    /** How many image bytes the organization may still add; undefined when unlimited. An import stops once it unpacks more. */
    imageBytesLeft: (executor: Executor, organizationId: string) => quotas.headroom(executor, organizationId, 'image_bytes'),
    /** A made image of `sizeBytes` becoming ready, checked in the transaction that records it (imports finishing at once take turns). */
    forImageBytes: (trx: Executor, organizationId: string, sizeBytes: number) => quotas.reserve(trx, organizationId, { image_bytes: sizeBytes }),
    forServer: (trx: Executor, organizationId: string, plan: { vcpus: number; memoryBytes: number; rootVolumeBytes: number }) =>
      quotas.reserve(trx, organizationId, { servers: 1, vcpus: plan.vcpus, memory_bytes: plan.memoryBytes, volume_bytes: plan.rootVolumeBytes }),
    /** Changing a server's size by these amounts (negative when it shrinks: nothing to reserve). */
    forResize: (trx: Executor, organizationId: string, change: { vcpus: number; memoryBytes: number }) =>
      quotas.reserve(trx, organizationId, { vcpus: Math.max(change.vcpus, 0), memory_bytes: Math.max(change.memoryBytes, 0) }),
    forDataVolume: (trx: Executor, organizationId: string, sizeBytes: number) => quotas.reserve(trx, organizationId, { volumes: 1, volume_bytes: sizeBytes }),
    /** Growing a volume by `extraBytes`. */
    forGrowth: (trx: Executor, organizationId: string, extraBytes: number) => quotas.reserve(trx, organizationId, { volume_bytes: extraBytes }),
    forSnapshot: (trx: Executor, organizationId: string) => quotas.reserve(trx, organizationId, { snapshots: 1 }),
    forImage: (trx: Executor, organizationId: string) => quotas.reserve(trx, organizationId, { images: 1 }),
  };
}

export type ComputeQuotas = ReturnType<typeof computeQuotas>;
