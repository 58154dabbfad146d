import type { Kysely } from 'kysely';
import type { Database, SnapshotRow, VolumeRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { Conflict, InvalidState, NotFound, ValidationFailed, type FieldErrors } from '../errors.ts';
import { runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { Task } from '../tasks/task-service.ts';
import type { ComputeQuotas } from './compute-quotas.ts';
import { assertComputeAvailable, computeEvent, type ComputeDeps, type Executor } from './context.ts';
import { checkName, hasErrors } from './inputs.ts';
import { toSnapshot, type Snapshot } from './records.ts';
import { startVolumeOperation } from './states.ts';
import type { VolumeService } from './volume-service.ts';

const listSpec: ListSpec = {
  filters: {
    name: (query, value) => query.where('name', '=', value),
    volume: uuidFilter('volume_id', 'volume'),
    // Snapshots of the environment's volumes.
    environment: (query, value) => query.where('volume_id', 'in', (eb: Kysely<Database>) => uuidFilter('environment_id', 'environment')(eb.selectFrom('volumes').select('id'), value)),
  },
  searchColumns: ['name'],
  orderings: { name: 'name', created_at: 'created_at' },
  defaultOrdering: '-created_at',
  idColumn: 'id',
};

export type SnapshotService = ReturnType<typeof createSnapshotService>;

/** Snapshots: a point-in-time copy of a volume, for new volumes (data) or images (root). */
export function createSnapshotService(deps: ComputeDeps & { volumes: VolumeService; limits: ComputeQuotas }) {
  const { store, events, tasks, host, volumes, limits } = deps;
  const { db } = store;

  const visible = (actor: Actor) => db.selectFrom('snapshots').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function findVisible(actor: Actor, id: string): Promise<SnapshotRow> {
    const row = isUuid(id) ? await visible(actor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('snapshot', 'No snapshot matches the given query.');
    return row;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Snapshot>> {
    assertAllowed(actor, 'snapshot:read');
    const result = await runList<SnapshotRow>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map(toSnapshot) } as ListResult<Snapshot>;
  }

  async function get(actor: Actor, id: string): Promise<Snapshot> {
    assertAllowed(actor, 'snapshot:read');
    return toSnapshot(await findVisible(actor, id));
  }

  async function create(actor: Actor, input: { name?: string; volume?: string }): Promise<{ snapshot: Snapshot; task: Task }> {
    assertAllowed(actor, 'snapshot:write');
    const errors: FieldErrors = {};
    checkName(errors, 'name', input.name, { required: true });
    if (input.volume === undefined) errors.volume = ['This field is required.'];
    if (hasErrors(errors)) throw new ValidationFailed(errors);
    const volume = await volumes.findVisible(actor, input.volume!).catch(() => {
      throw ValidationFailed.field('volume', `Invalid pk "${input.volume}" - object does not exist.`);
    });
    startVolumeOperation(volume.state, 'snapshot');
    await assertComputeAvailable(host);
    return db.transaction().execute(async (trx) => {
      const row = await record(trx, actor, volume, input.name!);
      const task = await tasks.enqueue(trx, actor, { type: 'snapshot.create', input: { snapshot_id: row.id, volume_id: volume.id } });
      return { snapshot: toSnapshot(row), task };
    });
  }

  /**
   * Records, within `trx`, a snapshot of `volume` about to be taken (counted in its
   * organization's quota); the caller enqueues the task that takes it.
   */
  async function record(trx: Executor, actor: Actor, volume: VolumeRow, name: string): Promise<SnapshotRow> {
    const server = volume.volume_type === 'root' ? await trx.selectFrom('servers').select('image_id').where('id', '=', volume.server_id!).executeTakeFirst() : undefined;
    const now = nowIso();
    const row: SnapshotRow = {
      id: newId(),
      organization_id: volume.organization_id,
      organization_path: volume.organization_path,
      name: name.trim(),
      volume_id: volume.id,
      base_image_id: server?.image_id ?? null,
      size_bytes: 0,
      state: 'creating',
      created_at: now,
      updated_at: now,
    };
    await limits.forSnapshot(trx, row.organization_id);
    await trx.insertInto('snapshots').values(row).execute();
    await events.record(trx, computeEvent(row, 'snapshot', 'created', actor, { name: row.name, volume: volume.id }));
    return row;
  }

  /** A snapshot no pending volume or image is being made from. */
  async function remove(actor: Actor, id: string): Promise<Task> {
    assertAllowed(actor, 'snapshot:write');
    const current = await findVisible(actor, id);
    if (current.state === 'creating') throw new InvalidState(current.state, ['available', 'error'], 'The snapshot is still being taken; delete it once it is available.', 'snapshot');
    const readers = await db.selectFrom('volumes').select('id').where('snapshot_id', '=', current.id).where('state', '=', 'creating').limit(1).execute();
    const images = await db.selectFrom('images').select('id').where('snapshot_id', '=', current.id).where('status', '=', 'pending').limit(1).execute();
    if (readers.length || images.length) throw new Conflict('A volume or an image is being made from this snapshot; delete it once they are ready.', 'snapshot_in_use');
    await assertComputeAvailable(host);
    // The row stays until the host has let go of the snapshot; a second delete's task finds it gone.
    return db.transaction().execute((trx) => tasks.enqueue(trx, actor, { type: 'snapshot.delete', input: { snapshot_id: current.id } }));
  }

  return { list, get, create, record, remove };
}
