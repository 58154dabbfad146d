import type { ServerState } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { nowIso } from '../clock.ts';
import { InvalidState, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { Task } from '../tasks/task-service.ts';
import { assertComputeAvailable, type ComputeDeps } from './context.ts';
import type { ImageService } from './image-service.ts';
import { checkName, hasErrors, NAME_MAX } from './inputs.ts';
import { toImage, toSnapshot, type Image, type Snapshot } from './records.ts';
import type { ServerService } from './server-service.ts';
import type { SnapshotService } from './snapshot-service.ts';
import { startVolumeOperation } from './states.ts';

/** A server is backed up while it is at rest, stopped or running, never while it changes state. */
export const BACKUP_STATES: readonly ServerState[] = ['stopped', 'running'];

export type BackupService = ReturnType<typeof createBackupService>;

/**
 * Backups: a snapshot of each of a server's volumes and an image made from its root volume's,
 * all recorded at once (each counted in its quota) and made by one `server.backup` task.
 */
export function createBackupService(deps: ComputeDeps & { servers: ServerService; snapshots: SnapshotService; images: ImageService }) {
  const { store, tasks, host, servers, snapshots, images } = deps;
  const { db } = store;

  async function backup(actor: Actor, serverId: string, input: { name?: string } = {}): Promise<{ image: Image; snapshots: Snapshot[]; task: Task }> {
    assertAllowed(actor, 'snapshot:write');
    assertAllowed(actor, 'image:write');
    const errors: FieldErrors = {};
    checkName(errors, 'name', input.name, { required: false });
    if (hasErrors(errors)) throw new ValidationFailed(errors);
    const server = await servers.findVisible(actor, serverId);
    if (!BACKUP_STATES.includes(server.state)) {
      throw new InvalidState(server.state, [...BACKUP_STATES], `The server is ${server.state}; a backup needs it to be ${BACKUP_STATES.join(' or ')}.`, 'server');
    }
    const name = (input.name ?? `${server.name} ${nowIso().slice(0, 16).replace('T', ' ')}`).trim().slice(0, NAME_MAX);
    await assertComputeAvailable(host);
    return db.transaction().execute(async (trx) => {
      // The root volume first: the image is made from its snapshot.
      const volumes = await trx.selectFrom('volumes').selectAll().where('server_id', '=', server.id).orderBy('volume_type', 'desc').orderBy('mount_path').orderBy('id').execute();
      const taken = [];
      for (const volume of volumes) {
        startVolumeOperation(volume.state, 'snapshot');
        const label = volume.volume_type === 'root' ? 'root' : volume.name;
        taken.push(await snapshots.record(trx, actor, volume, `${name} ${label}`.slice(0, NAME_MAX)));
      }
      const image = images.newImage(actor, name, 'snapshot', taken[0]!.id);
      await images.record(trx, actor, image);
      const task = await tasks.enqueue(trx, actor, {
        type: 'server.backup',
        input: { server_id: server.id, image_id: image.id, snapshots: taken.map((s) => ({ snapshot_id: s.id, volume_id: s.volume_id })) },
      });
      return { image: toImage(image), snapshots: taken.map(toSnapshot), task };
    });
  }

  return { backup };
}
