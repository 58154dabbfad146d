import { Type } from 'typebox';
import type { Snapshot, Volume } from '../../../core/compute/records.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { computeErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import { sendAccepted, TaskBody } from '../tasks/task-body.ts';
import type { FastifyTypeBox } from '../types.ts';
import { Bytes, CreatedTask, resourceUrl } from './shared.ts';

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
  environment: NullableUuid,
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
  environment: v.environment_id,
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

  collectionRoutes(app, {
    path: VOLUMES,
    tags,
    errors: computeErrors,
    item: VolumeBody,
    render: renderVolume,
    revisions: true,
    list: { summary: 'List volumes', filters: { name: Type.Optional(Id), server: Type.Optional(Id), state: Type.Optional(Id), type: Type.Optional(Id), environment: Type.Optional(Id) }, run: volumes.list },
    create: {
      summary: 'Create a data volume, empty or from a snapshot, attached at once to a stopped `server` when one is named',
      body: Type.Object({
        name: Type.String({ maxLength: 200 }),
        size: Type.Optional(Type.Integer({ description: 'Bytes; from a snapshot, defaults to its volume\'s size.' })),
        snapshot: Type.Optional(Id),
        environment: Type.Optional(Id),
        server: Type.Optional(Type.String({ maxLength: 200, description: 'A stopped server to attach the new volume to at once.' })),
        mount_path: Type.Optional(Type.String({ maxLength: 300, description: 'Where, with `server`; `/mnt/<volume id>` by default.' })),
      }),
      response: Type.Intersect([VolumeBody, Type.Object(CreatedTask)]),
      location: true,
      run: async (actor, body) => { const { volume, task } = await volumes.create(actor, body); return { row: volume, extra: { task: task.id } }; },
    },
    retrieve: { summary: 'Retrieve a volume', run: volumes.get },
    update: { summary: 'Rename a volume', body: Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })) }), run: volumes.update },
    remove: { summary: 'Delete a detached data volume (202 with the task)', accepted: true, ifMatch: true, run: volumes.remove },
  });

  app.post(`${VOLUMES}:id/resize/`, {
    schema: { tags, summary: 'Grow a volume (online when attached)', params: IdParams, body: Type.Object({ size: Type.Integer({ description: 'The new size in bytes, larger than the current one.' }) }), response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await volumes.resize(request.actor, request.params.id, request.body)),
  });

  app.post(`${VOLUMES}:id/attach/`, {
    schema: {
      tags,
      summary: 'Attach a data volume to a stopped server; it is mounted at `mount_path` (by default `/mnt/<volume id>`) when the server starts',
      params: IdParams,
      body: Type.Object({ server: Id, mount_path: Type.Optional(Type.String({ maxLength: 300 })) }),
      response: { 202: TaskBody, ...computeErrors },
    },
    handler: async (request, reply) => sendAccepted(request, reply, await volumes.attach(request.actor, request.params.id, request.body)),
  });

  app.post(`${VOLUMES}:id/detach/`, {
    schema: { tags, summary: 'Detach a data volume from its stopped server', params: IdParams, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await volumes.detach(request.actor, request.params.id)),
  });

  collectionRoutes(app, {
    path: SNAPSHOTS,
    tags,
    errors: computeErrors,
    item: SnapshotBody,
    render: renderSnapshot,
    list: { summary: 'List snapshots', filters: { name: Type.Optional(Id), volume: Type.Optional(Id) }, run: snapshots.list },
    create: {
      summary: "Snapshot a volume (a root volume's snapshot can become an image)",
      body: Type.Object({ name: Type.String({ maxLength: 200 }), volume: Id }),
      response: Type.Intersect([SnapshotBody, Type.Object(CreatedTask)]),
      location: true,
      run: async (actor, body) => { const { snapshot, task } = await snapshots.create(actor, body); return { row: snapshot, extra: { task: task.id } }; },
    },
    retrieve: { summary: 'Retrieve a snapshot', run: snapshots.get },
    remove: { summary: 'Delete a snapshot (202 with the task)', accepted: true, run: snapshots.remove },
  });
}
