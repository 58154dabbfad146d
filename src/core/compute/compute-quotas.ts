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

  /** Bytes of the organization's images (one being made counts 0 until it is ready). */
  async function imageBytes(executor: Executor, organizationId: string): Promise<number> {
    const row = await executor.selectFrom('images').select((eb) => eb.fn.sum<number>('size_bytes').as('total')).where('organization_id', '=', organizationId).executeTakeFirst();
    return asNumber(row?.total);
  }

  return {
    /** How many image bytes the organization may still add; undefined when unlimited. An import stops once it unpacks more. */
    async imageBytesLeft(executor: Executor, organizationId: string): Promise<number | undefined> {
      const limit = (await quotas.limitsOf(executor, organizationId)).image_bytes;
      return limit === null ? undefined : Math.max(0, limit - (await imageBytes(executor, organizationId)));
    },

    /** A made image of `sizeBytes` becoming ready, checked in the transaction that records it (two imports finishing at once take turns). */
    async forImageBytes(trx: Executor, organizationId: string, sizeBytes: number): Promise<void> {
      await quotas.takeTurn(trx, organizationId);
      await quotas.assertWithin(trx, organizationId, 'image_bytes', await imageBytes(trx, organizationId), sizeBytes);
    },

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
