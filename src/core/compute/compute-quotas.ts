import type { QuotaService } from '../quotas/quota-service.ts';
import { asNumber, type Executor } from './context.ts';

/**
 * Quota checks of compute, run inside the creating transaction: each takes the organization's
 * turn, then checks its current totals. Root volumes count toward `volume_bytes` (they use the disk) but not toward
 * the `volumes` count (that counts what users create themselves).
 */
export function computeQuotas(quotas: QuotaService) {
  async function volumeBytes(trx: Executor, organizationId: string): Promise<number> {
    const row = await trx.selectFrom('volumes').select((eb) => eb.fn.sum<number>('size_bytes').as('total')).where('organization_id', '=', organizationId).executeTakeFirst();
    return asNumber(row?.total);
  }

  async function count(trx: Executor, table: 'servers' | 'snapshots' | 'images', organizationId: string): Promise<number> {
    const row = await trx.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('organization_id', '=', organizationId).executeTakeFirst();
    return asNumber(row?.n);
  }

  return {
    async forServer(trx: Executor, organizationId: string, plan: { vcpus: number; memoryBytes: number; rootVolumeBytes: number }): Promise<void> {
      await quotas.takeTurn(trx, organizationId);
      const totals = await trx
        .selectFrom('servers')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number>('vcpus').as('vcpus'), eb.fn.sum<number>('memory_bytes').as('memory')])
        .where('organization_id', '=', organizationId)
        .executeTakeFirst();
      await quotas.assertAllWithin(trx, organizationId, [
        { resource: 'servers', current: asNumber(totals?.n), adding: 1 },
        { resource: 'vcpus', current: asNumber(totals?.vcpus), adding: plan.vcpus },
        { resource: 'memory_bytes', current: asNumber(totals?.memory), adding: plan.memoryBytes },
        { resource: 'volume_bytes', current: await volumeBytes(trx, organizationId), adding: plan.rootVolumeBytes },
      ]);
    },

    /** Changing a server's size by these amounts (negative when it shrinks). */
    async forResize(trx: Executor, organizationId: string, change: { vcpus: number; memoryBytes: number }): Promise<void> {
      await quotas.takeTurn(trx, organizationId);
      const totals = await trx
        .selectFrom('servers')
        .select((eb) => [eb.fn.sum<number>('vcpus').as('vcpus'), eb.fn.sum<number>('memory_bytes').as('memory')])
        .where('organization_id', '=', organizationId)
        .executeTakeFirst();
      await quotas.assertAllWithin(trx, organizationId, [
        { resource: 'vcpus', current: asNumber(totals?.vcpus), adding: Math.max(change.vcpus, 0) },
        { resource: 'memory_bytes', current: asNumber(totals?.memory), adding: Math.max(change.memoryBytes, 0) },
      ]);
    },

    async forDataVolume(trx: Executor, organizationId: string, sizeBytes: number): Promise<void> {
      await quotas.takeTurn(trx, organizationId);
      const row = await trx.selectFrom('volumes').select((eb) => eb.fn.countAll<number>().as('n')).where('organization_id', '=', organizationId).where('volume_type', '=', 'data').executeTakeFirst();
      await quotas.assertAllWithin(trx, organizationId, [
        { resource: 'volumes', current: asNumber(row?.n), adding: 1 },
        { resource: 'volume_bytes', current: await volumeBytes(trx, organizationId), adding: sizeBytes },
      ]);
    },

    /** Growing a volume by `extraBytes`. */
    async forGrowth(trx: Executor, organizationId: string, extraBytes: number): Promise<void> {
      await quotas.takeTurn(trx, organizationId);
      await quotas.assertWithin(trx, organizationId, 'volume_bytes', await volumeBytes(trx, organizationId), extraBytes);
    },

    async forSnapshot(trx: Executor, organizationId: string): Promise<void> {
      await quotas.takeTurn(trx, organizationId);
      await quotas.assertWithin(trx, organizationId, 'snapshots', await count(trx, 'snapshots', organizationId));
    },

    async forImage(trx: Executor, organizationId: string): Promise<void> {
      await quotas.takeTurn(trx, organizationId);
      await quotas.assertWithin(trx, organizationId, 'images', await count(trx, 'images', organizationId));
    },
  };
}

export type ComputeQuotas = ReturnType<typeof computeQuotas>;
