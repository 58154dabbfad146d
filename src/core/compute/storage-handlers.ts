import fs from 'node:fs';
import type { ImageRow, VolumeState } from '../../store/schema.ts';
import { BUILTIN_IMAGE_ID } from '../../store/migrations/0400_compute.ts';
import { nowIso } from '../clock.ts';
import type { FieldErrors } from '../errors.ts';
import type { TaskContext, TaskHandlerRegistry } from '../tasks/handlers.ts';
import type { ComputeQuotas } from './compute-quotas.ts';
import { asDomainError, computeEvent, onHost, tenantMessage, uploadPath, type ComputeDeps, type Executor } from './context.ts';
import type { HostRecords } from './host-records.ts';

const ref = (type: string, key: string) => (input: Record<string, unknown>) => (input[key] ? [{ type, id: String(input[key]) }] : []);
/** The snapshots a backup takes, root volume's first. */
const backupSnapshots = (input: Record<string, unknown>) => (Array.isArray(input.snapshots) ? (input.snapshots as { snapshot_id: string; volume_id: string }[]) : []);
const both = (...refs: ((input: Record<string, unknown>) => { type: string; id: string }[])[]) => (input: Record<string, unknown>) => refs.flatMap((r) => r(input));

/**
 * Volume, snapshot and image tasks. Like the server tasks they are safe to run again after a
 * crash; a failure marks the resource `error` (or puts a volume back as it was, when the
 * volume itself is unharmed) and fails the task with the reason.
 */
export function registerStorageHandlers(registry: TaskHandlerRegistry, deps: ComputeDeps, records: HostRecords, limits: ComputeQuotas): void {
  const { store, events, host, settings } = deps;
  const { db } = store;

  const volumeRow = (id: string) => db.selectFrom('volumes').selectAll().where('id', '=', id).executeTakeFirst();
  const restingState = (volume: { server_id: string | null }): VolumeState => (volume.server_id ? 'in_use' : 'available');
  const setVolume = (executor: Executor, id: string, changes: Record<string, unknown>) =>
    executor.updateTable('volumes').set({ ...changes, updated_at: nowIso() }).where('id', '=', id).execute().then(() => null);

  /** Runs `work` on a volume that still exists; on failure the volume takes `onFailure`'s state. */
  function volumeTask(resources: (input: Record<string, unknown>) => { type: string; id: string }[], onFailure: (volume: { server_id: string | null }) => VolumeState, work: (ctx: TaskContext, volumeId: string) => Promise<void>) {
    return {
      resourcesOf: resources,
      async run(ctx: TaskContext) {
        const volumeId = String(ctx.input.volume_id);
        const volume = await volumeRow(volumeId);
        if (!volume) return { gone: true };
        try {
          await work(ctx, volumeId);
          return {};
        } catch (error) {
          await setVolume(db, volumeId, { state: onFailure(volume) });
          throw asDomainError(error);
        }
      },
    };
  }

  registry.register(
    'volume.create',
    volumeTask(ref('volume', 'volume_id'), () => 'error', async (ctx, volumeId) => {
      const volume = (await volumeRow(volumeId))!;
      await onHost(() => host.volumes.create(volumeId, Number(volume.size_bytes), volume.snapshot_id ?? undefined));
      // Made attached (its server named at creation), it is in use from the start.
      await ctx.step('available', (trx) => setVolume(trx, volumeId, { state: restingState(volume) }));
    }),
  );

  registry.register(
    'volume.resize',
    // A failed resize leaves the volume as it was: it is back in service at its old size.
    volumeTask(ref('volume', 'volume_id'), restingState, async (ctx, volumeId) => {
      const size = Number(ctx.input.size);
      await onHost(() => host.volumes.resize(volumeId, size));
      await ctx.step('resized', async (trx) => {
        const volume = (await trx.selectFrom('volumes').selectAll().where('id', '=', volumeId).executeTakeFirstOrThrow());
        await setVolume(trx, volumeId, { size_bytes: size, state: restingState(volume) });
        await events.record(trx, computeEvent(volume, 'volume', 'resized', null, { from: Number(volume.size_bytes), to: size }));
        return null;
      });
    }),
  );

  // The attachment is recorded when asked for (so that no second server gets the volume); the
  // volume is mounted when the server next starts, so there is nothing for the host to do now.
  registry.register(
    'volume.attach',
    volumeTask(both(ref('volume', 'volume_id'), ref('server', 'server_id')), restingState, async () => undefined),
  );

  registry.register(
    'volume.detach',
    volumeTask(both(ref('volume', 'volume_id'), ref('server', 'server_id')), restingState, async (ctx, volumeId) => {
      await ctx.step('detached', async (trx) => {
        const volume = (await trx.selectFrom('volumes').selectAll().where('id', '=', volumeId).executeTakeFirstOrThrow());
        await setVolume(trx, volumeId, { server_id: null, mount_path: null, state: 'available' });
        if (volume.server_id) await events.record(trx, computeEvent(volume, 'volume', 'detached', null, { server: volume.server_id }));
        return null;
      });
    }),
  );

  registry.register(
    'volume.delete',
    volumeTask(ref('volume', 'volume_id'), () => 'error', async (ctx, volumeId) => {
      await onHost(() => host.volumes.remove(volumeId));
      await ctx.step('deleted', async (trx) => {
        const volume = await trx.selectFrom('volumes').selectAll().where('id', '=', volumeId).executeTakeFirstOrThrow();
        await trx.deleteFrom('volumes').where('id', '=', volumeId).execute();
        await events.record(trx, computeEvent(volume, 'volume', 'deleted', null, { name: volume.name }));
        return null;
      });
    }),
  );

  const snapshotRow = (id: string) => db.selectFrom('snapshots').selectAll().where('id', '=', id).executeTakeFirst();

  /** Takes a recorded snapshot on the host and records it available; a failure records `error`. `step` names the task's step. */
  async function takeSnapshot(ctx: TaskContext, snapshotId: string, step: string): Promise<{ size: number } | { gone: true }> {
    const snapshot = await snapshotRow(snapshotId);
    if (!snapshot) return { gone: true };
    try {
      const { sizeBytes } = await onHost(() => host.volumes.snapshot(snapshot.volume_id, snapshotId));
      await ctx.step(step, (trx) => trx.updateTable('snapshots').set({ state: 'available', size_bytes: sizeBytes, updated_at: nowIso() }).where('id', '=', snapshotId).execute().then(() => null));
      return { size: sizeBytes };
    } catch (error) {
      await db.updateTable('snapshots').set({ state: 'error', updated_at: nowIso() }).where('id', '=', snapshotId).execute();
      throw asDomainError(error);
    }
  }

  registry.register('snapshot.create', {
    resourcesOf: both(ref('snapshot', 'snapshot_id'), ref('volume', 'volume_id')),
    run: (ctx) => takeSnapshot(ctx, String(ctx.input.snapshot_id), 'available'),
  });

  registry.register('snapshot.delete', {
    resourcesOf: ref('snapshot', 'snapshot_id'),
    async run(ctx) {
      const snapshotId = String(ctx.input.snapshot_id);
      const snapshot = await snapshotRow(snapshotId);
      if (!snapshot) return { gone: true };
      await onHost(() => host.volumes.removeSnapshot(snapshotId));
      await ctx.step('deleted', async (trx) => {
        await trx.deleteFrom('snapshots').where('id', '=', snapshotId).execute();
        await events.record(trx, computeEvent(snapshot, 'snapshot', 'deleted', null, { name: snapshot.name }));
        return null;
      });
      return {};
    },
  });

  const imageRow = (id: string) => db.selectFrom('images').selectAll().where('id', '=', id).executeTakeFirst();

  /**
   * Makes an image's root filesystem on the host, then records it ready, its bytes counted in its
   * organization's `image_bytes` quota; a failure (the quota included) records `error` with the
   * reason and leaves nothing of the image on the host.
   */
  function imageTask(make: (ctx: TaskContext, image: ImageRow) => Promise<{ sizeBytes: number; arch: string }>, cleanup?: (ctx: TaskContext) => void) {
    return {
      resourcesOf: ref('image', 'image_id'),
      async run(ctx: TaskContext) {
        try {
          return await makeImage(ctx, String(ctx.input.image_id), 'ready', make);
        } finally {
          cleanup?.(ctx);
        }
      },
    };
  }

  /** Makes a recorded image with `make` and records it ready; `step` names the task's step. */
  async function makeImage(ctx: TaskContext, imageId: string, step: string, make: (ctx: TaskContext, image: ImageRow) => Promise<{ sizeBytes: number; arch: string }>) {
    const image = await imageRow(imageId);
    if (!image) return { gone: true };
    try {
      const artifact = await make(ctx, image);
      await ctx.step(step, async (trx) => {
        if (image.organization_id) await limits.forImageBytes(trx, image.organization_id, artifact.sizeBytes);
        await trx.updateTable('images').set({ status: 'ready', size_bytes: artifact.sizeBytes, arch: artifact.arch, error: null, updated_at: nowIso() }).where('id', '=', imageId).execute();
        return null;
      });
      return { size: artifact.sizeBytes };
    } catch (error) {
      throw await imageFailed(imageId, error);
    }
  }

  /** Records an image `error` with the reason, leaving nothing of it on the host; returns the failure to throw. */
  async function imageFailed(imageId: string, error: unknown) {
    const failure = asDomainError(error);
    await onHost(() => host.images.remove(imageId)).catch(() => undefined);
    await db.updateTable('images').set({ status: 'error', error: tenantMessage(failure), updated_at: nowIso() }).where('id', '=', imageId).execute();
    return failure;
  }

  const removeUpload = (ctx: TaskContext) => fs.rmSync(uploadPath(settings, String(ctx.input.image_id)), { force: true });
  registry.register(
    'image.import',
    imageTask(async (_ctx, image) => {
      // The import stops as soon as it unpacks more than the organization has left.
      const maxBytes = image.organization_id ? await limits.imageBytesLeft(db, image.organization_id) : undefined;
      return onHost(() => host.images.importArchive(image.id, uploadPath(settings, image.id), { maxBytes }));
    }, removeUpload),
  );

  const fromSnapshot = async (_ctx: TaskContext, image: ImageRow) => {
    const snapshot = await snapshotRow(image.snapshot_id ?? '');
    if (!snapshot) throw new Error('the snapshot this image was to be made from is gone');
    return onHost(() => host.images.fromSnapshot(image.id, snapshot.id, snapshot.base_image_id));
  };
  registry.register('image.from_snapshot', imageTask(fromSnapshot));

  // A server's backup: a snapshot of each of its volumes, then an image from its root volume's.
  registry.register('server.backup', {
    resourcesOf: (input) => [
      { type: 'server', id: String(input.server_id) },
      { type: 'image', id: String(input.image_id) },
      ...backupSnapshots(input).flatMap((s) => [{ type: 'snapshot', id: s.snapshot_id }, { type: 'volume', id: s.volume_id }]),
    ],
    async run(ctx) {
      const imageId = String(ctx.input.image_id);
      const taken = backupSnapshots(ctx.input);
      try {
        for (const [i, { snapshot_id }] of taken.entries()) {
          await takeSnapshot(ctx, snapshot_id, `snapshot ${snapshot_id}`);
          await ctx.progress(Math.round(((i + 1) * 100) / (taken.length + 1)));
        }
      } catch (error) {
        throw await imageFailed(imageId, error);
      }
      const made = await makeImage(ctx, imageId, 'image ready', fromSnapshot);
      return { ...made, snapshots: taken.map((s) => s.snapshot_id) };
    },
  });

  // Any user with task:write may ask for the built-in image ahead of its first server.
  registry.register('image.prepare_builtin', {
    userCreatable: true,
    validateInput: (input): FieldErrors => (Object.keys(input).length ? { input: ['Preparing the built-in image takes no input.'] } : {}),
    resourcesOf: () => [{ type: 'image', id: BUILTIN_IMAGE_ID }],
    async run() {
      await records.ensureImageReady(BUILTIN_IMAGE_ID);
      return {};
    },
  });

  registry.register('image.delete', {
    resourcesOf: ref('image', 'image_id'),
    async run(ctx) {
      const imageId = String(ctx.input.image_id);
      const image = await imageRow(imageId);
      if (!image) return { gone: true };
      await onHost(() => host.images.remove(imageId));
      await ctx.step('deleted', async (trx) => {
        await trx.deleteFrom('images').where('id', '=', imageId).execute();
        if (image.organization_id && image.organization_path) {
          await events.record(trx, computeEvent({ ...image, organization_id: image.organization_id, organization_path: image.organization_path }, 'image', 'deleted', null, { name: image.name }));
        }
        return null;
      });
      return {};
    },
  });
}
