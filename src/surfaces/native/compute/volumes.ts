import { Type } from 'typebox';
import type { Snapshot, Volume } from '../../../core/compute/records.ts';
import type { CoreServices } from '../../../core/services.ts';
import { expectedRevision, revisionEtag } from '../../../http/conventions/etag.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../../../http/pagination.ts';
import { computeErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import { sendAccepted, TaskBody } from '../tasks/task-body.ts';
import type { FastifyTypeBox } from '../types.ts';
import { Bytes, CreatedTask, resourceUrl, sendCreated } from './shared.ts';

const VOLUMES = '/api/storage/volumes/';
const SNAPSHOTS = '/api/storage/snapshots/';
const NullableUuid = Type.Union([Uuid, Type.Null()]);
const Id = Type.String({ maxLength: 200 });

const VolumeBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  size: Bytes('Size'),
  type: Type.String({ description: 'root (a server\'s own, deleted with it) or data.' }),
  state: Type.String({ description: 'creating, available, in_use, resizing, deleting or error.' }),
  server: NullableUuid,
  mount_path: Type.Union([Type.String(), Type.Null()]),
  snapshot: NullableUuid,
  organization: Uuid,
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const SnapshotBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  volume: Uuid,
  base_image: NullableUuid,
  size: Bytes('Space used'),
  state: Type.String({ description: 'creating, available or error.' }),
  organization: Uuid,
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

type Request = Parameters<typeof resourceUrl>[0];

const renderVolume = (request: Request) => (v: Volume) => ({
  id: v.id,
  name: v.name,
  size: v.size_bytes,
  type: v.volume_type,
  state: v.state,
  server: v.server_id,
  mount_path: v.mount_path,
  snapshot: v.snapshot_id,
  organization: v.organization_id,
  url: resourceUrl(request, VOLUMES, v.id),
  created_at: v.created_at,
  updated_at: v.updated_at,
});

const renderSnapshot = (request: Request) => (s: Snapshot) => ({
  id: s.id,
  name: s.name,
  volume: s.volume_id,
  base_image: s.base_image_id,
  size: s.size_bytes,
  state: s.state,
  organization: s.organization_id,
  url: resourceUrl(request, SNAPSHOTS, s.id),
  created_at: s.created_at,
  updated_at: s.updated_at,
});

/** `/api/storage/volumes/` and `/api/storage/snapshots/`. */
export function storageRoutes(app: FastifyTypeBox, { compute }: CoreServices): void {
  const { volumes, snapshots } = compute;
  const tags = ['storage'];

  app.get(VOLUMES, {
    schema: {
      tags,
      summary: 'List volumes',
      querystring: listQuerySchema({ name: Type.Optional(Id), server: Type.Optional(Id), state: Type.Optional(Id), type: Type.Optional(Id) }),
      response: { 200: listResponseSchema(VolumeBody), ...computeErrors },
    },
    handler: async (request, reply) => sendList(request, reply, await volumes.list(request.actor, toListRequest(request.query)), renderVolume(request)),
  });

  app.post(VOLUMES, {
    schema: {
      tags,
      summary: 'Create a data volume, empty or from a snapshot',
      body: Type.Object({ name: Type.String({ maxLength: 200 }), size: Type.Optional(Type.Integer({ description: 'Bytes; from a snapshot, defaults to its volume\'s size.' })), snapshot: Type.Optional(Id) }),
      response: { 201: Type.Intersect([VolumeBody, Type.Object(CreatedTask)]), ...computeErrors },
    },
    handler: async (request, reply) => {
      const { volume, task } = await volumes.create(request.actor, request.body);
      reply.header('etag', revisionEtag(volume.id, volume.revision));
      return sendCreated(request, reply, VOLUMES, volume.id, renderVolume(request)(volume), task.id);
    },
  });

  app.get(`${VOLUMES}:id/`, {
    schema: { tags, summary: 'Retrieve a volume', params: IdParams, response: { 200: VolumeBody, ...computeErrors } },
    handler: async (request, reply) => {
      const volume = await volumes.get(request.actor, request.params.id);
      reply.header('etag', revisionEtag(volume.id, volume.revision));
      return renderVolume(request)(volume);
    },
  });

  app.patch(`${VOLUMES}:id/`, {
    schema: { tags, summary: 'Rename a volume', params: IdParams, body: Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })) }), response: { 200: VolumeBody, ...computeErrors } },
    handler: async (request, reply) => {
      const { id } = request.params;
      const volume = await volumes.update(request.actor, id, request.body, { expectedRevision: expectedRevision(request, id) });
      reply.header('etag', revisionEtag(volume.id, volume.revision));
      return renderVolume(request)(volume);
    },
  });

  app.delete(`${VOLUMES}:id/`, {
    schema: { tags, summary: 'Delete a detached data volume (202 with the task)', params: IdParams, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => {
      const { id } = request.params;
      return sendAccepted(request, reply, await volumes.remove(request.actor, id, { expectedRevision: expectedRevision(request, id) }));
    },
  });

  app.post(`${VOLUMES}:id/resize/`, {
    schema: { tags, summary: 'Grow a volume (online when attached)', params: IdParams, body: Type.Object({ size: Type.Integer({ description: 'The new size in bytes, larger than the current one.' }) }), response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await volumes.resize(request.actor, request.params.id, request.body)),
  });

  app.post(`${VOLUMES}:id/attach/`, {
    schema: {
      tags,
      summary: 'Attach a data volume to a stopped server; it is mounted at `mount_path` when the server starts',
      params: IdParams,
      body: Type.Object({ server: Id, mount_path: Type.String({ maxLength: 300 }) }),
      response: { 202: TaskBody, ...computeErrors },
    },
    handler: async (request, reply) => sendAccepted(request, reply, await volumes.attach(request.actor, request.params.id, request.body)),
  });

  app.post(`${VOLUMES}:id/detach/`, {
    schema: { tags, summary: 'Detach a data volume from its stopped server', params: IdParams, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await volumes.detach(request.actor, request.params.id)),
  });

  app.get(SNAPSHOTS, {
    schema: {
      tags,
      summary: 'List snapshots',
      querystring: listQuerySchema({ name: Type.Optional(Id), volume: Type.Optional(Id) }),
      response: { 200: listResponseSchema(SnapshotBody), ...computeErrors },
    },
    handler: async (request, reply) => sendList(request, reply, await snapshots.list(request.actor, toListRequest(request.query)), renderSnapshot(request)),
  });

  app.post(SNAPSHOTS, {
    schema: {
      tags,
      summary: "Snapshot a volume (a root volume's snapshot can become an image)",
      body: Type.Object({ name: Type.String({ maxLength: 200 }), volume: Id }),
      response: { 201: Type.Intersect([SnapshotBody, Type.Object(CreatedTask)]), ...computeErrors },
    },
    handler: async (request, reply) => {
      const { snapshot, task } = await snapshots.create(request.actor, request.body);
      return sendCreated(request, reply, SNAPSHOTS, snapshot.id, renderSnapshot(request)(snapshot), task.id);
    },
  });

  app.get(`${SNAPSHOTS}:id/`, {
    schema: { tags, summary: 'Retrieve a snapshot', params: IdParams, response: { 200: SnapshotBody, ...computeErrors } },
    handler: async (request) => renderSnapshot(request)(await snapshots.get(request.actor, request.params.id)),
  });

  app.delete(`${SNAPSHOTS}:id/`, {
    schema: { tags, summary: 'Delete a snapshot (202 with the task)', params: IdParams, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await snapshots.remove(request.actor, request.params.id)),
  });
}
