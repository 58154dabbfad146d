import { Type } from 'typebox';
import type { Actor } from '../../core/actor.ts';
import { GIB, MIB } from '../../core/compute/inputs.ts';
import { listPlans, listVolumePlans, resolveVolumePlan } from '../../core/compute/plans.ts';
import type { Snapshot } from '../../core/compute/records.ts';
import type { Environment } from '../../core/environments/environment-service.ts';
import { NotFound } from '../../core/errors.ts';
import { everything } from '../../core/listing.ts';
import type { CoreServices } from '../../core/services.ts';
import type { FastifyTypeBox } from '../native/types.ts';
import { onEntities, UnsupportedOperation, type Entity } from './errors.ts';
import { accepted, many, single } from './replies.ts';
import { instanceRenderer, instanceState, renderComputeOffering, renderDiskOffering, renderSnapshot, renderTemplate, renderVolume, snapshotState, volumeState } from './renderers.ts';

type Services = Pick<CoreServices, 'compute' | 'environments'>;

const Id = Type.String({ maxLength: 200 });
const ServiceParams = Type.Object({ serviceCode: Id, environmentName: Id });
const EntityParams = Type.Object({ serviceCode: Id, environmentName: Id, id: Id });
const Operation = Type.Object({ operation: Type.Optional(Type.String({ maxLength: 50 })) });

const InstancePost = Type.Object({
  name: Type.String({ maxLength: 200 }),
  templateId: Id,
  computeOfferingId: Type.Optional(Id),
  cpuCount: Type.Optional(Type.Integer()),
  memoryInMB: Type.Optional(Type.Integer()),
  hostname: Type.Optional(Type.String({ maxLength: 200 })),
  rootVolumeSizeInGb: Type.Optional(Type.Integer()),
  networkId: Type.Optional(Id),
});
const InstancePut = Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })), hostname: Type.Optional(Type.String({ maxLength: 200 })) });
const InstanceOperationBody = Type.Object({
  computeOfferingId: Type.Optional(Id),
  cpuCount: Type.Optional(Type.Integer()),
  memoryInMB: Type.Optional(Type.Integer()),
  forceStop: Type.Optional(Type.Boolean()),
});
const InstanceDelete = Type.Object({ purgeImmediately: Type.Optional(Type.Boolean()) });
const VolumePost = Type.Object({ name: Type.String({ maxLength: 200 }), diskOfferingId: Type.Optional(Id), sizeInGb: Type.Optional(Type.Integer()), instanceId: Type.Optional(Id) });
const VolumeOperationBody = Type.Object({ instanceId: Type.Optional(Id), name: Type.Optional(Type.String({ maxLength: 200 })), newSizeInGb: Type.Optional(Type.Integer()) });
const VolumeQuery = Type.Object({ type: Type.Optional(Type.String({ maxLength: 10 })), instance_id: Type.Optional(Id) });

/** Volume types: CloudMC's `os` is core's root volume. */
const VOLUME_TYPES: Record<string, string> = { os: 'root', data: 'data' };

/** CloudMC's instance operations that are core server actions. */
const INSTANCE_ACTIONS: Record<string, string> = { start: 'poweron', stop: 'poweroff', reboot: 'reboot', purge: 'purge', recover: 'recover', resetPassword: 'reset_password' };

/** Instances, templates, offerings, volumes and snapshots under `/api/v2/services/:serviceCode/:environmentName/`. */
export function computeRoutes(app: FastifyTypeBox, { compute, environments }: Services): void {
  const { servers, volumes, snapshots, images } = compute;
  const base = '/api/v2/services/:serviceCode/:environmentName';
  const environmentOf = (actor: Actor, params: { serviceCode: string; environmentName: string }) => environments.findByName(actor, params.serviceCode, params.environmentName);

  const { renderInstances, renderInstance } = instanceRenderer(images);

  /** A resource of this environment; any other is a 404, as if it did not exist. */
  function inEnvironment<T extends { environment_id: string | null }>(environment: Environment, type: string, row: T): T {
    if (row.environment_id !== environment.id) throw new NotFound(type, `No ${type} matches the given query in this environment.`);
    return row;
  }
  const instanceIn = async (actor: Actor, environment: Environment, id: string) => inEnvironment(environment, 'instance', await servers.get(actor, id));
  const volumeIn = async (actor: Actor, environment: Environment, id: string) => inEnvironment(environment, 'volume', await volumes.get(actor, id));
  const instanceEntity = (id: string): Entity => ({ type: 'instances', id, stateName: instanceState });
  const volumeEntity = (id: string): Entity => ({ type: 'volumes', id, stateName: volumeState });

  app.get(`${base}/instances`, { schema: { params: ServiceParams } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    return many(await renderInstances(request.actor, await everything(servers.list, request.actor, { environment: environment.id })));
  });

  app.get(`${base}/instances/:id`, { schema: { params: EntityParams } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    return single(await renderInstance(request.actor, await instanceIn(request.actor, environment, request.params.id)));
  });

  app.post(`${base}/instances`, { schema: { params: ServiceParams, body: InstancePost } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    const body = request.body;
    // networkId is accepted: each organization has one private network, and every instance is on it.
    const { server, task } = await servers.create(request.actor, {
      name: body.name,
      hostname: body.hostname,
      image_id: body.templateId,
      plan_id: body.computeOfferingId,
      vcpus: body.cpuCount,
      memory_bytes: body.memoryInMB === undefined ? undefined : body.memoryInMB * MIB,
      root_volume_bytes: body.rootVolumeSizeInGb === undefined ? undefined : body.rootVolumeSizeInGb * GIB,
      environment_id: environment.id,
      start: true,
    });
    return accepted(task, await renderInstance(request.actor, server));
  });

  app.put(`${base}/instances/:id`, { schema: { params: EntityParams, body: InstancePut } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    const { id } = await instanceIn(request.actor, environment, request.params.id);
    return single(await renderInstance(request.actor, await servers.update(request.actor, id, request.body)));
  });

  // Destroying keeps the instance (Destroyed) until it is recovered, purged or its retention passes;
  // `purgeImmediately` deletes it at once.
  app.delete(`${base}/instances/:id`, { schema: { params: EntityParams, body: Type.Union([InstanceDelete, Type.Null()]) } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    const { id } = await instanceIn(request.actor, environment, request.params.id);
    const action = request.body?.purgeImmediately === true ? 'terminate' : 'destroy';
    return accepted(await onEntities({ server: instanceEntity(id) }, () => servers.act(request.actor, id, action)));
  });

  app.post(`${base}/instances/:id`, { schema: { params: EntityParams, querystring: Operation, body: Type.Union([InstanceOperationBody, Type.Null()]) } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    const instance = await instanceIn(request.actor, environment, request.params.id);
    const operation = request.query.operation ?? '';
    const body = request.body ?? {};
    const run = <T>(work: () => Promise<T>) => onEntities({ server: instanceEntity(instance.id) }, work);
    if (Object.hasOwn(INSTANCE_ACTIONS, operation)) return accepted(await run(() => servers.act(request.actor, instance.id, INSTANCE_ACTIONS[operation]!)));
    if (operation === 'changeComputeOffering') {
      const memory = body.memoryInMB === undefined ? undefined : body.memoryInMB * MIB;
      return accepted(await run(() => servers.resize(request.actor, instance.id, { plan_id: body.computeOfferingId, vcpus: body.cpuCount, memory_bytes: memory })));
    }
    throw new UnsupportedOperation(`"${operation}" is not an operation on instances. Use one of: ${[...Object.keys(INSTANCE_ACTIONS), 'changeComputeOffering'].join(', ')}.`, { operation, type: 'instances' });
  });

  app.get(`${base}/templates`, { schema: { params: ServiceParams } }, async (request) => {
    await environmentOf(request.actor, request.params);
    return many((await everything(images.list, request.actor)).map(renderTemplate));
  });
  app.get(`${base}/templates/:id`, { schema: { params: EntityParams } }, async (request) => {
    await environmentOf(request.actor, request.params);
    return single(renderTemplate(await images.get(request.actor, request.params.id)));
  });

  app.get(`${base}/computeofferings`, { schema: { params: ServiceParams } }, async (request) => {
    await environmentOf(request.actor, request.params);
    return many(listPlans(request.actor).map(renderComputeOffering));
  });
  app.get(`${base}/diskofferings`, { schema: { params: ServiceParams } }, async (request) => {
    await environmentOf(request.actor, request.params);
    return many(listVolumePlans(request.actor).map(renderDiskOffering));
  });

  app.get(`${base}/volumes`, { schema: { params: ServiceParams, querystring: VolumeQuery } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    const filters: Record<string, string> = { environment: environment.id };
    if (request.query.type !== undefined) filters.type = Object.hasOwn(VOLUME_TYPES, request.query.type) ? VOLUME_TYPES[request.query.type]! : request.query.type;
    if (request.query.instance_id !== undefined) filters.server = request.query.instance_id;
    return many((await everything(volumes.list, request.actor, filters)).map(renderVolume));
  });

  app.get(`${base}/volumes/:id`, { schema: { params: EntityParams } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    return single(renderVolume(await volumeIn(request.actor, environment, request.params.id)));
  });

  app.post(`${base}/volumes`, { schema: { params: ServiceParams, body: VolumePost } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    const { name, diskOfferingId, sizeInGb, instanceId } = request.body;
    const size = diskOfferingId !== undefined ? resolveVolumePlan(diskOfferingId, 'volume_plan').sizeBytes : sizeInGb === undefined ? undefined : sizeInGb * GIB;
    // Made attached to an instance of this environment when one is named.
    if (instanceId !== undefined) await instanceIn(request.actor, environment, instanceId);
    const create = () => volumes.create(request.actor, { name, size_bytes: size, environment_id: environment.id, server_id: instanceId });
    const { volume, task } = instanceId === undefined ? await create() : await onEntities({ server: instanceEntity(instanceId) }, create);
    return accepted(task, renderVolume(volume));
  });

  app.delete(`${base}/volumes/:id`, { schema: { params: EntityParams } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    const { id } = await volumeIn(request.actor, environment, request.params.id);
    return accepted(await onEntities({ volume: volumeEntity(id) }, () => volumes.remove(request.actor, id)));
  });

  app.post(`${base}/volumes/:id`, { schema: { params: EntityParams, querystring: Operation, body: Type.Union([VolumeOperationBody, Type.Null()]) } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    const volume = await volumeIn(request.actor, environment, request.params.id);
    const body = request.body ?? {};
    // The instance it is (or is to be) attached to may be what is in the wrong state.
    const instanceId = body.instanceId ?? volume.server_id;
    const run = <T>(work: () => Promise<T>) => onEntities({ volume: volumeEntity(volume.id), ...(instanceId ? { server: instanceEntity(instanceId) } : {}) }, work);
    switch (request.query.operation) {
      case 'attachToInstance': {
        // The instance must be of this environment too; CloudMC volumes have no mount point: core's default.
        if (body.instanceId !== undefined) await instanceIn(request.actor, environment, body.instanceId);
        return accepted(await run(() => volumes.attach(request.actor, volume.id, { server_id: body.instanceId })));
      }
      case 'detachFromInstance':
        return accepted(await run(() => volumes.detach(request.actor, volume.id)));
      case 'resize':
        return accepted(await run(() => volumes.resize(request.actor, volume.id, { size_bytes: body.newSizeInGb === undefined ? undefined : body.newSizeInGb * GIB })));
      case 'createSnapshotFromVolume': {
        const { snapshot, task } = await run(() => snapshots.create(request.actor, { name: body.name ?? `${volume.name}-snapshot`, volume: volume.id }));
        return accepted(task, renderSnapshot(snapshot));
      }
      default:
        throw new UnsupportedOperation(`"${request.query.operation ?? ''}" is not an operation on volumes. Use one of: attachToInstance, detachFromInstance, resize, createSnapshotFromVolume.`, { operation: request.query.operation ?? '', type: 'volumes' });
    }
  });

  app.get(`${base}/snapshots`, { schema: { params: ServiceParams } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    return many((await everything(snapshots.list, request.actor, { environment: environment.id })).map(renderSnapshot));
  });

  /** A snapshot of one of this environment's volumes. */
  async function snapshotIn(actor: Actor, environment: Environment, id: string): Promise<Snapshot> {
    const snapshot = await snapshots.get(actor, id);
    const volume = await volumes.get(actor, snapshot.volume_id).catch(() => null);
    if (volume?.environment_id !== environment.id) throw new NotFound('snapshot', 'No snapshot matches the given query in this environment.');
    return snapshot;
  }

  app.get(`${base}/snapshots/:id`, { schema: { params: EntityParams } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    return single(renderSnapshot(await snapshotIn(request.actor, environment, request.params.id)));
  });

  app.delete(`${base}/snapshots/:id`, { schema: { params: EntityParams } }, async (request) => {
    const environment = await environmentOf(request.actor, request.params);
    const { id } = await snapshotIn(request.actor, environment, request.params.id);
    return accepted(await onEntities({ snapshot: { type: 'snapshots', id, stateName: snapshotState } }, () => snapshots.remove(request.actor, id)));
  });
}

