import type { VolumeRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { Conflict, InvalidState, NotFound, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import { choiceFilter, runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { Task } from '../tasks/task-service.ts';
import type { ComputeQuotas } from './compute-quotas.ts';
import { asNumber, assertComputeAvailable, computeEvent, type ComputeDeps, type Executor } from './context.ts';
import { checkInteger, checkMountPath, checkName, hasErrors, PLAN_LIMITS } from './inputs.ts';
import { toVolume, type Volume } from './records.ts';
import type { ServerService } from './server-service.ts';
import { availableSnapshot } from './snapshot-lookup.ts';
import { assertServerAcceptsVolumeChanges, startVolumeOperation, type VolumeOperation } from './states.ts';

export interface VolumeInput {
  name?: string;
  size_bytes?: number;
  snapshot_id?: string;
  /** An environment of the acting organization the volume belongs to. */
  environment_id?: string;
  /** A stopped server of the acting organization to attach the new volume to at once. */
  server_id?: string;
  /** Where it is mounted in that server: `/mnt/<volume id>` unless given. */
  mount_path?: string;
}

/** Where a volume attached without a mount path is mounted. */
const defaultMountPath = (volumeId: string) => `/mnt/${volumeId}`;

const STATES = ['creating', 'available', 'in_use', 'resizing', 'deleting', 'error'];

const listSpec: ListSpec = {
  filters: {
    name: (query, value) => query.where('name', '=', value),
    server: uuidFilter('server_id', 'server'),
    state: choiceFilter('state', 'state', STATES),
    type: (query, value) => query.where('volume_type', '=', value),
    environment: uuidFilter('environment_id', 'environment'),
  },
  searchColumns: ['name'],
  orderings: { name: 'name', created_at: 'created_at', size: 'size_bytes' },
  defaultOrdering: 'name',
  idColumn: 'id',
};

export type VolumeService = ReturnType<typeof createVolumeService>;

/** Volumes: sparse ext4 files, attached to at most one server, changed through tasks. */
export function createVolumeService(deps: ComputeDeps & { servers: ServerService; limits: ComputeQuotas }) {
  const { store, events, tasks, host, servers, limits } = deps;
  const { db } = store;

  const visible = (actor: Actor, executor: Executor = db) => executor.selectFrom('volumes').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function findVisible(actor: Actor, id: string, executor: Executor = db): Promise<VolumeRow> {
    const row = isUuid(id) ? await visible(actor, executor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('volume', 'No volume matches the given query.');
    return row;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Volume>> {
    assertAllowed(actor, 'volume:read');
    const result = await runList<VolumeRow>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map(toVolume) } as ListResult<Volume>;
  }

  async function get(actor: Actor, id: string): Promise<Volume> {
    assertAllowed(actor, 'volume:read');
    return toVolume(await findVisible(actor, id));
  }

  /** A server of the volume's organization that takes volume changes now (it is stopped). */
  async function attachableServer(actor: Actor, serverId: string, organizationId: string, executor: Executor = db) {
    const server = await servers.findVisible(actor, serverId, executor).catch(() => {
      throw ValidationFailed.field('server_id', `Invalid pk "${serverId}" - object does not exist.`);
    });
    if (server.organization_id !== organizationId) throw ValidationFailed.field('server_id', 'A volume is attached to a server of its own organization.');
    assertServerAcceptsVolumeChanges(server.state);
    return server;
  }

  async function assertMountPathFree(trx: Executor, serverId: string, mountPath: string): Promise<void> {
    const clash = await trx.selectFrom('volumes').select('id').where('server_id', '=', serverId).where('mount_path', '=', mountPath).executeTakeFirst();
    if (clash) throw ValidationFailed.field('mount_path', 'Another volume is mounted there on this server.');
  }

  /**
   * A new empty data volume, or one holding an available snapshot's content (at least the
   * snapshot's size); attached at once to a stopped server when `server` names one.
   */
  async function create(actor: Actor, input: VolumeInput): Promise<{ volume: Volume; task: Task }> {
    assertAllowed(actor, 'volume:write');
    const errors: FieldErrors = {};
    checkName(errors, 'name', input.name, { required: true });
    if (input.size_bytes === undefined && input.snapshot_id === undefined) errors.size_bytes = ['This field is required.'];
    checkInteger(errors, 'size_bytes', input.size_bytes, PLAN_LIMITS.volume, ' bytes');
    if (input.mount_path !== undefined) checkMountPath(errors, input.mount_path);
    if (hasErrors(errors)) throw new ValidationFailed(errors);
    const server = input.server_id === undefined ? null : await attachableServer(actor, input.server_id, actor.organizationId);
    let sourceSize = 0;
    if (input.snapshot_id !== undefined) {
      const snapshot = await availableSnapshot(db, actor, input.snapshot_id, 'a volume', 'snapshot_id');
      if (snapshot.base_image_id !== null) throw ValidationFailed.field('snapshot_id', "A root volume's snapshot becomes an image (POST /api/images/images/), not a volume.");
      const volume = await db.selectFrom('volumes').select('size_bytes').where('id', '=', snapshot.volume_id).executeTakeFirst();
      sourceSize = asNumber(volume?.size_bytes ?? snapshot.size_bytes);
      if (input.size_bytes !== undefined && input.size_bytes < sourceSize) throw ValidationFailed.field('size_bytes', `Ensure this value is at least the snapshot's volume size, ${sourceSize} bytes.`);
    }
    const environmentId = await servers.environmentFor(actor, input.environment_id);
    await assertComputeAvailable(host);
    const now = nowIso();
    const id = newId();
    const row: VolumeRow = {
      id,
      organization_id: actor.organizationId,
      organization_path: actor.organizationPath,
      name: input.name!.trim(),
      size_bytes: input.size_bytes ?? sourceSize,
      volume_type: 'data',
      state: 'creating',
      server_id: server?.id ?? null,
      mount_path: server ? (input.mount_path ?? defaultMountPath(id)) : null,
      snapshot_id: input.snapshot_id ?? null,
      environment_id: environmentId,
      revision: 1,
      created_at: now,
      updated_at: now,
    };
    return db.transaction().execute(async (trx) => {
      await limits.forDataVolume(trx, actor.organizationId, row.size_bytes);
      if (server) {
        // Checked again inside the transaction: the server may have been started meanwhile.
        await attachableServer(actor, server.id, actor.organizationId, trx);
        await assertMountPathFree(trx, server.id, row.mount_path!);
      }
      await trx.insertInto('volumes').values(row).execute();
      await events.record(trx, computeEvent(row, 'volume', 'created', actor, { name: row.name, size: row.size_bytes }));
      if (server) await events.record(trx, computeEvent(row, 'volume', 'attached', actor, { server: server.id, mount_path: row.mount_path }));
      return { volume: toVolume(row), task: await tasks.enqueue(trx, actor, { type: 'volume.create', input: { volume_id: row.id } }) };
    });
  }

  async function update(actor: Actor, id: string, input: { name?: string }, options: { expectedRevision?: number } = {}): Promise<Volume> {
    assertAllowed(actor, 'volume:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    const errors: FieldErrors = {};
    checkName(errors, 'name', input.name, { required: false });
    if (hasErrors(errors)) throw new ValidationFailed(errors);
    const changes = { name: input.name?.trim() ?? current.name, revision: current.revision + 1, updated_at: nowIso() };
    const result = await db.updateTable('volumes').set(changes).where('id', '=', current.id).where('revision', '=', current.revision).executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new PreconditionFailed('The volume was changed by another request; read it again and retry.');
    return toVolume({ ...current, ...changes });
  }

  /**
   * Moves the volume to the operation's state and enqueues its task in one transaction; the
   * update is conditional on the state read, so of two racing requests one is refused.
   */
  async function begin(actor: Actor, current: VolumeRow, operation: VolumeOperation, type: string, input: Record<string, unknown>, trxWork?: (trx: Executor) => Promise<Partial<VolumeRow>>): Promise<Task> {
    const during = startVolumeOperation(current.state, operation);
    return db.transaction().execute(async (trx) => {
      const extra = (await trxWork?.(trx)) ?? {};
      const moved = await trx
        .updateTable('volumes')
        .set({ ...extra, state: during, revision: current.revision + 1, updated_at: nowIso() })
        .where('id', '=', current.id)
        .where('revision', '=', current.revision)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) {
        const now = await findVisible(actor, current.id, trx);
        startVolumeOperation(now.state, operation);
        throw new PreconditionFailed('The volume was changed by another request; read it again and retry.');
      }
      return tasks.enqueue(trx, actor, { type, input: { volume_id: current.id, ...input } });
    });
  }

  async function resize(actor: Actor, id: string, input: { size_bytes?: number }): Promise<Task> {
    assertAllowed(actor, 'volume:write');
    const current = await findVisible(actor, id);
    const errors: FieldErrors = {};
    if (input.size_bytes === undefined) errors.size_bytes = ['This field is required.'];
    checkInteger(errors, 'size_bytes', input.size_bytes, PLAN_LIMITS.volume, ' bytes');
    if (!errors.size_bytes && input.size_bytes! <= asNumber(current.size_bytes)) errors.size_bytes = [`Volumes only grow: ensure this value is greater than the current size, ${asNumber(current.size_bytes)} bytes.`];
    if (hasErrors(errors)) throw new ValidationFailed(errors);
    startVolumeOperation(current.state, 'resize');
    await assertComputeAvailable(host);
    return begin(actor, current, 'resize', 'volume.resize', { size: input.size_bytes }, async (trx) => {
      await limits.forGrowth(trx, current.organization_id, input.size_bytes! - asNumber(current.size_bytes));
      return {};
    });
  }

  /**
   * Attaches a data volume to a stopped server in the same organization, at `mount_path` or
   * `/mnt/<volume id>`; it is mounted at the server's next start.
   */
  async function attach(actor: Actor, id: string, input: { server_id?: string; mount_path?: string }): Promise<Task> {
    assertAllowed(actor, 'volume:write');
    const current = await findVisible(actor, id);
    if (current.volume_type === 'root') throw new Conflict("A server's root volume stays with its server.", 'root_volume');
    const errors: FieldErrors = {};
    if (input.server_id === undefined) errors.server_id = ['This field is required.'];
    if (input.mount_path !== undefined) checkMountPath(errors, input.mount_path);
    if (hasErrors(errors)) throw new ValidationFailed(errors);
    startVolumeOperation(current.state, 'attach');
    const server = await attachableServer(actor, input.server_id!, current.organization_id);
    const mountPath = input.mount_path ?? defaultMountPath(current.id);
    await assertComputeAvailable(host);
    return begin(actor, current, 'attach', 'volume.attach', { server_id: server.id }, async (trx) => {
      // Checked again inside the transaction: the server may have been started meanwhile.
      await attachableServer(actor, server.id, current.organization_id, trx);
      await assertMountPathFree(trx, server.id, mountPath);
      await events.record(trx, computeEvent(current, 'volume', 'attached', actor, { server: server.id, mount_path: mountPath }));
      return { server_id: server.id, mount_path: mountPath };
    });
  }

  async function detach(actor: Actor, id: string): Promise<Task> {
    assertAllowed(actor, 'volume:write');
    const current = await findVisible(actor, id);
    if (current.volume_type === 'root') throw new Conflict("A server's root volume stays with its server.", 'root_volume');
    startVolumeOperation(current.state, 'detach');
    const server = await db.selectFrom('servers').select('state').where('id', '=', current.server_id!).executeTakeFirst();
    if (server) assertServerAcceptsVolumeChanges(server.state);
    await assertComputeAvailable(host);
    return begin(actor, current, 'detach', 'volume.detach', { server_id: current.server_id }, async (trx) => {
      const now = await trx.selectFrom('servers').select('state').where('id', '=', current.server_id!).executeTakeFirst();
      if (now) assertServerAcceptsVolumeChanges(now.state);
      return {};
    });
  }

  /** Deletes a detached data volume (a root volume goes with its server's terminate). */
  async function remove(actor: Actor, id: string, options: { expectedRevision?: number } = {}): Promise<Task> {
    assertAllowed(actor, 'volume:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    if (current.volume_type === 'root') throw new Conflict("A server's root volume is deleted with its server (the terminate action).", 'root_volume');
    startVolumeOperation(current.state, 'delete');
    if (current.server_id !== null) throw new InvalidState(current.state, ['available'], 'The volume is attached; detach it first.', 'volume');
    await assertComputeAvailable(host);
    return begin(actor, current, 'delete', 'volume.delete', {});
  }

  return { list, get, create, update, resize, attach, detach, remove, findVisible };
}
