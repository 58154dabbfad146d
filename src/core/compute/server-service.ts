import type { ServerRow, VolumeRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { NotFound, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import { choiceFilter, jsonTextsFilter, runList, uuidFilter, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import type { Task } from '../tasks/task-service.ts';
import type { ComputeQuotas } from './compute-quotas.ts';
import { assertComputeAvailable, computeEvent, retryOnUniqueViolation, type ComputeDeps, type Executor } from './context.ts';
import { BUILTIN_IMAGE_ID, type ImageService } from './image-service.ts';
import { checkHostname, checkInteger, checkMountPath, checkName, checkTags, hasErrors, hostnameFrom, PLAN_LIMITS } from './inputs.ts';
import { allocateAddress, allocateIdBlock, ensureNetwork } from './networks.ts';
import { resolvePlan } from './plans.ts';
import { toServer, type Server } from './records.ts';
import { allowedServerActions, assertServerDeletable, assertServerResizable, resolveServerAction, SERVER_ACTIONS, ACTION_ALIASES, startServerAction, startVolumeOperation, type ServerAction } from './states.ts';

export interface ServerInput {
  name?: string;
  hostname?: string;
  image_id?: string;
  vcpus?: number;
  memory_bytes?: number;
  root_volume_bytes?: number;
  tags?: string[];
  start?: boolean;
  /** Data volumes attached from the start: existing ones (`volume`), or new ones made with the server. */
  volumes?: ServerVolumeInput[];
  /** A plan: its vCPUs and memory, instead of giving them. */
  plan_id?: string;
  /** An environment of the acting organization the server belongs to. */
  environment_id?: string;
}

/** A new size: a plan, or vCPUs and memory. */
export interface ResizeInput {
  plan_id?: string;
  vcpus?: number;
  memory_bytes?: number;
}

export type ServerVolumeInput = { volume_id: string; mount_path: string } | { name: string; size_bytes: number; mount_path: string };

/** How many data volumes a server is created with, at most. */
export const MAX_CREATE_VOLUMES = 15;

const STATES = ['stopped', 'starting', 'running', 'stopping', 'error', 'destroyed'];

const listSpec: ListSpec = {
  filters: {
    name: (query, value) => query.where('name', '=', value),
    state: choiceFilter('state', 'state', STATES),
    image: uuidFilter('image_id', 'image'),
    environment: uuidFilter('environment_id', 'environment'),
    // Servers holding every tag listed (comma-separated).
    tags: jsonTextsFilter('tags'),
  },
  searchColumns: ['name', 'hostname', 'private_ip'],
  orderings: { name: 'name', created_at: 'created_at', updated_at: 'updated_at', state: 'state' },
  defaultOrdering: 'name',
  idColumn: 'id',
};

export type ServerService = ReturnType<typeof createServerService>;

/** Servers: records and the tasks that make the host follow them. */
export function createServerService(deps: ComputeDeps & { images: ImageService; limits: ComputeQuotas }) {
  const { store, events, tasks, host, settings, images, limits, addresses } = deps;
  const { db } = store;

  const visible = (actor: Actor, executor: Executor = db) => executor.selectFrom('servers').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function findVisible(actor: Actor, id: string, executor: Executor = db): Promise<ServerRow> {
    const row = isUuid(id) ? await visible(actor, executor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('server', 'No server matches the given query.');
    return row;
  }

  async function withVolumes(rows: ServerRow[], executor: Executor = db): Promise<Server[]> {
    const ids = rows.map((r) => r.id);
    const held = ids.length
      ? await executor
          .selectFrom('volumes')
          .select(['id', 'server_id', 'mount_path', 'name', 'size_bytes', 'volume_type', 'created_at', 'updated_at'])
          .where('server_id', 'in', ids)
          .orderBy('mount_path')
          .execute()
      : [];
    const organizationIds = [...new Set(rows.map((r) => r.organization_id))];
    const owners = organizationIds.length ? await executor.selectFrom('organizations').select(['id', 'name']).where('id', 'in', organizationIds).execute() : [];
    const ownerName = (id: string) => owners.find((o) => o.id === id)?.name ?? '';
    return rows.map((row) => {
      const own = held.filter((v) => v.server_id === row.id);
      const root = own.find((v) => v.id === row.root_volume_id)!;
      return toServer(row, root, own.filter((v) => v.volume_type === 'data'), ownerName(row.organization_id));
    });
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Server>> {
    assertAllowed(actor, 'server:read');
    const result = await runList<ServerRow>(db, visible(actor), listSpec, request);
    return { ...result, items: await withVolumes(result.items) } as ListResult<Server>;
  }

  async function get(actor: Actor, id: string): Promise<Server> {
    assertAllowed(actor, 'server:read');
    return (await withVolumes([await findVisible(actor, id)]))[0]!;
  }

  function checkSize(errors: FieldErrors, input: ResizeInput): void {
    checkInteger(errors, 'vcpus', input.vcpus, PLAN_LIMITS.vcpus);
    checkInteger(errors, 'memory_bytes', input.memory_bytes, PLAN_LIMITS.memory, ' bytes');
    if (input.plan_id !== undefined && (input.vcpus !== undefined || input.memory_bytes !== undefined)) errors.plan_id = ['Give a plan, or vcpus and memory, not both.'];
  }

  /** The vCPUs and memory a create or resize asks for; what it leaves out comes from `fallback`. */
  function sizeOf(input: ResizeInput, fallback: { vcpus: number; memoryBytes: number }): { vcpus: number; memoryBytes: number } {
    if (input.plan_id !== undefined) {
      const plan = resolvePlan(input.plan_id, 'plan_id');
      return { vcpus: plan.vcpus, memoryBytes: plan.memoryBytes };
    }
    return { vcpus: input.vcpus ?? fallback.vcpus, memoryBytes: input.memory_bytes ?? fallback.memoryBytes };
  }

  function validate(input: ServerInput): FieldErrors {
    const errors: FieldErrors = {};
    checkName(errors, 'name', input.name, { required: true });
    checkHostname(errors, input.hostname);
    checkSize(errors, input);
    checkInteger(errors, 'root_volume_bytes', input.root_volume_bytes, PLAN_LIMITS.rootVolume, ' bytes');
    checkTags(errors, input.tags);
    checkVolumes(errors, input.volumes);
    return errors;
  }

  /** Errors of the `i`th volume are reported as `volumes.<i>.<field>`. */
  function checkVolumes(errors: FieldErrors, volumes: ServerVolumeInput[] | undefined): void {
    if (volumes === undefined) return;
    if (volumes.length > MAX_CREATE_VOLUMES) {
      errors.volumes = [`Ensure this field has no more than ${MAX_CREATE_VOLUMES} elements.`];
      return;
    }
    const paths = new Set<string>();
    volumes.forEach((volume, i) => {
      const found: FieldErrors = {};
      checkMountPath(found, volume.mount_path);
      if (!found.mount_path && paths.has(volume.mount_path)) found.mount_path = ['Another volume is mounted there on this server.'];
      paths.add(volume.mount_path);
      if ('volume_id' in volume) {
        if (!isUuid(volume.volume_id)) found.volume_id = [`"${volume.volume_id}" is not a valid UUID.`];
      } else {
        checkName(found, 'name', volume.name, { required: true });
        if (volume.size_bytes === undefined) found.size_bytes = ['This field is required.'];
        checkInteger(found, 'size_bytes', volume.size_bytes, PLAN_LIMITS.volume, ' bytes');
      }
      for (const [field, messages] of Object.entries(found)) errors[`volumes.${i}.${field}`] = messages;
    });
  }

  /**
   * Attaches the create's data volumes to the new server, in its transaction: an existing volume
   * must be available in the same organization; a new one is recorded `creating` (the create task
   * makes it) and counts toward the quotas.
   */
  async function attachAtCreate(trx: Executor, actor: Actor, server: ServerRow, volumes: ServerVolumeInput[]): Promise<void> {
    for (const [i, volume] of volumes.entries()) {
      const now = nowIso();
      if ('volume_id' in volume) {
        const current = await trx.selectFrom('volumes').selectAll().where('id', '=', volume.volume_id).where('organization_path', 'like', `${actor.organizationPath}%`).executeTakeFirst();
        if (!current) throw ValidationFailed.field(`volumes.${i}.volume_id`, `Volume "${volume.volume_id}" not found.`);
        if (current.volume_type === 'root' || current.organization_id !== server.organization_id) {
          throw ValidationFailed.field(`volumes.${i}.volume_id`, "A server takes data volumes of its own organization, not another server's root volume.");
        }
        startVolumeOperation(current.state, 'attach');
        const moved = await trx
          .updateTable('volumes')
          .set({ server_id: server.id, mount_path: volume.mount_path, state: 'in_use', revision: current.revision + 1, updated_at: now })
          .where('id', '=', current.id)
          .where('revision', '=', current.revision)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) throw new PreconditionFailed('The volume was changed by another request; read it again and retry.');
        await events.record(trx, computeEvent(current, 'volume', 'attached', actor, { server: server.id, mount_path: volume.mount_path }));
      } else {
        await limits.forDataVolume(trx, server.organization_id, volume.size_bytes);
        const row: VolumeRow = {
          id: newId(),
          organization_id: server.organization_id,
          organization_path: server.organization_path,
          name: volume.name.trim(),
          size_bytes: volume.size_bytes,
          volume_type: 'data',
          state: 'creating',
          server_id: server.id,
          mount_path: volume.mount_path,
          // A volume made with a server belongs where the server does.
          environment_id: server.environment_id,
          snapshot_id: null,
          revision: 1,
          created_at: now,
          updated_at: now,
        };
        await trx.insertInto('volumes').values(row).execute();
        await events.record(trx, computeEvent(row, 'volume', 'created', actor, { name: row.name, size: row.size_bytes, server: server.id }));
      }
    }
  }

  /** An environment of the acting organization itself (a sub-organization's are its own). */
  async function environmentFor(actor: Actor, id: string | undefined): Promise<string | null> {
    if (id === undefined) return null;
    const found = isUuid(id) ? await db.selectFrom('environments').select('id').where('id', '=', id).where('organization_id', '=', actor.organizationId).executeTakeFirst() : undefined;
    if (!found) throw ValidationFailed.field('environment_id', `Invalid pk "${id}" - object does not exist.`);
    return found.id;
  }

  /** Records a server, its root volume and its address, and enqueues `server.create` (which starts it when asked). */
  async function create(actor: Actor, input: ServerInput): Promise<{ server: Server; task: Task }> {
    assertAllowed(actor, 'server:write');
    const errors = validate(input);
    if (hasErrors(errors)) throw new ValidationFailed(errors);
    const size = sizeOf(input, { vcpus: PLAN_LIMITS.vcpus.default, memoryBytes: PLAN_LIMITS.memory.default });
    const environmentId = await environmentFor(actor, input.environment_id);
    const image = await images.findUsable(actor, input.image_id ?? BUILTIN_IMAGE_ID);
    await assertComputeAvailable(host);
    const plan = { ...size, rootVolumeBytes: input.root_volume_bytes ?? PLAN_LIMITS.rootVolume.default };
    const name = input.name!.trim();
    const { created, published } = await retryOnUniqueViolation(() =>
      db.transaction().execute(async (trx) => {
        await limits.forServer(trx, actor.organizationId, plan);
        const network = await ensureNetwork(trx, actor.organizationId, settings.networkRange);
        const now = nowIso();
        const owner = { organization_id: actor.organizationId, organization_path: actor.organizationPath, created_at: now, updated_at: now };
        const row: ServerRow = {
          ...owner,
          id: newId(),
          name,
          hostname: input.hostname ?? hostnameFrom(name),
          image_id: image.id,
          vcpus: plan.vcpus,
          memory_bytes: plan.memoryBytes,
          state: input.start ? 'starting' : 'stopped',
          state_detail: 'Being created.',
          network_id: network.id,
          private_ip: await allocateAddress(trx, network),
          root_volume_id: newId(),
          environment_id: environmentId,
          tags: JSON.stringify([...new Set(input.tags ?? [])]),
          facts: null,
          facts_updated_at: null,
          host: settings.hostId,
          destroyed_at: null,
          id_block: await allocateIdBlock(trx),
          revision: 1,
        };
        const rootVolume: VolumeRow = {
          ...owner,
          id: row.root_volume_id,
          name: `${name} (root)`,
          size_bytes: plan.rootVolumeBytes,
          volume_type: 'root',
          state: 'creating',
          server_id: row.id,
          mount_path: '/',
          snapshot_id: null,
          environment_id: environmentId,
          revision: 1,
        };
        await trx.insertInto('servers').values(row).execute();
        await trx.insertInto('volumes').values(rootVolume).execute();
        await events.record(trx, computeEvent(row, 'server', 'created', actor, { name: row.name, image: image.id, private_ip: row.private_ip }));
        await attachAtCreate(trx, actor, row, input.volumes ?? []);
        const task = await tasks.enqueue(trx, actor, { type: 'server.create', input: { server_id: row.id, start: input.start === true } });
        const published = await addresses?.serversChanged(trx, actor.organizationId, actor);
        return { created: { server: (await withVolumes([row], trx))[0]!, task }, published };
      }),
    );
    published?.();
    return created;
  }

  /**
   * Name, host name and tags change (a new host name shows from the next start); everything else
   * about a server is set at creation or through actions.
   */
  async function update(actor: Actor, id: string, input: Pick<ServerInput, 'name' | 'hostname' | 'tags'>, options: { expectedRevision?: number } = {}): Promise<Server> {
    assertAllowed(actor, 'server:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    const errors: FieldErrors = {};
    checkName(errors, 'name', input.name, { required: false });
    checkHostname(errors, input.hostname);
    checkTags(errors, input.tags);
    if (hasErrors(errors)) throw new ValidationFailed(errors);
    const changes = {
      name: input.name?.trim() ?? current.name,
      hostname: input.hostname ?? current.hostname,
      tags: input.tags ? JSON.stringify([...new Set(input.tags)]) : current.tags,
      revision: current.revision + 1,
      updated_at: nowIso(),
    };
    await db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('servers').set(changes).where('id', '=', current.id).where('revision', '=', current.revision).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw new PreconditionFailed('The server was changed by another request; read it again and retry.');
      await events.record(trx, computeEvent(current, 'server', 'updated', actor, { name: changes.name }));
    });
    return get(actor, id);
  }

  /**
   * Asks for an action: the server moves to the action's transitional state in the same
   * transaction that enqueues the task, so a concurrent second action sees it and is refused.
   */
  /** `deleteVolumes` makes a terminate delete the data volumes too, instead of leaving them detached. */
  async function act(actor: Actor, id: string, actionName: string, { deleteVolumes = false }: { deleteVolumes?: boolean } = {}): Promise<Task> {
    assertAllowed(actor, 'server:write');
    // Found first: another organization's server is a 404 whatever the body says.
    const current = await findVisible(actor, id);
    const action = resolveServerAction(actionName);
    if (!action) throw ValidationFailed.field('action', `"${actionName}" is not a valid choice. Choose from: ${[...SERVER_ACTIONS, ...Object.keys(ACTION_ALIASES)].join(', ')}.`);
    startServerAction(current.state, action);
    await assertComputeAvailable(host);
    return enqueueAction(actor, current.id, action, { deleteVolumes: action === 'terminate' && deleteVolumes });
  }

  async function enqueueAction(actor: Actor, id: string, action: ServerAction, { deleting = false, deleteVolumes = false } = {}): Promise<Task> {
    return db.transaction().execute(async (trx) => {
      const current = await findVisible(actor, id, trx);
      if (deleting) assertServerDeletable(current.state);
      const during = startServerAction(current.state, action);
      if (during !== current.state) {
        // Conditional on the state read: of two racing actions, only one moves the server.
        const moved = await trx.updateTable('servers').set({ state: during, state_detail: '', updated_at: nowIso() }).where('id', '=', id).where('state', '=', current.state).executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) startServerAction((await findVisible(actor, id, trx)).state, action);
        await events.record(trx, computeEvent(current, 'server', 'state_changed', actor, { from: current.state, to: during, action }));
      }
      if (action === 'destroy') await scheduleExpiry(trx, actor, id);
      return tasks.enqueue(trx, actor, { type: `server.${action}`, input: { server_id: id, ...(deleteVolumes ? { delete_volumes: true } : {}) } });
    });
  }

  /**
   * A destroyed server is purged once the retention period has passed, by a task due then (it
   * survives restarts); the retention in force when it is destroyed applies. The task purges only
   * the destruction it was made for: recovered (or destroyed again since), the server stays.
   */
  async function scheduleExpiry(trx: Executor, actor: Actor, id: string): Promise<void> {
    const destroyedAt = nowIso();
    await trx.updateTable('servers').set({ destroyed_at: destroyedAt }).where('id', '=', id).execute();
    const runAfter = new Date(Date.parse(destroyedAt) + settings.destroyedRetentionMs).toISOString();
    await tasks.enqueue(trx, actor, { type: 'server.expire', input: { server_id: id, destroyed_at: destroyedAt }, runAfter });
  }

  /** DELETE: a stopped or destroyed server, at once; the terminate task removes it from the host and the store. */
  async function remove(actor: Actor, id: string, options: { expectedRevision?: number } = {}): Promise<Task> {
    assertAllowed(actor, 'server:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== current.revision) throw new PreconditionFailed();
    assertServerDeletable(current.state);
    await assertComputeAvailable(host);
    return enqueueAction(actor, current.id, 'terminate', { deleting: true });
  }

  /** A stopped server's new size, within quota; its task records it on the host, and the next start applies it. */
  async function resize(actor: Actor, id: string, input: ResizeInput): Promise<Task> {
    assertAllowed(actor, 'server:write');
    const current = await findVisible(actor, id);
    const errors: FieldErrors = {};
    if (input.plan_id === undefined && input.vcpus === undefined && input.memory_bytes === undefined) errors.plan_id = ['Give a plan, or vcpus and memory.'];
    checkSize(errors, input);
    if (hasErrors(errors)) throw new ValidationFailed(errors);
    const size = sizeOf(input, { vcpus: Number(current.vcpus), memoryBytes: Number(current.memory_bytes) });
    assertServerResizable(current.state);
    await assertComputeAvailable(host);
    return db.transaction().execute(async (trx) => {
      await limits.forResize(trx, current.organization_id, { vcpus: size.vcpus - Number(current.vcpus), memoryBytes: size.memoryBytes - Number(current.memory_bytes) });
      const moved = await trx
        .updateTable('servers')
        .set({ vcpus: size.vcpus, memory_bytes: size.memoryBytes, revision: current.revision + 1, updated_at: nowIso() })
        .where('id', '=', current.id)
        .where('revision', '=', current.revision)
        .where('state', 'in', ['stopped'])
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) {
        assertServerResizable((await findVisible(actor, id, trx)).state);
        throw new PreconditionFailed('The server was changed by another request; read it again and retry.');
      }
      await events.record(trx, computeEvent(current, 'server', 'resized', actor, { vcpus: size.vcpus, memory: size.memoryBytes }));
      return tasks.enqueue(trx, actor, { type: 'server.resize', input: { server_id: current.id } });
    });
  }

  async function allowedActions(actor: Actor, id: string): Promise<{ state: string; actions: ServerAction[] }> {
    assertAllowed(actor, 'server:read');
    const current = await findVisible(actor, id);
    return { state: current.state, actions: allowedServerActions(current.state) };
  }

  return { list, get, create, update, act, resize, remove, allowedActions, findVisible, environmentFor };
}
