import { Type } from 'typebox';
import type { Snapshot, Volume } from '../../../core/compute/records.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { computeErrors, IdParams } from '../wire/common.ts';
import { sendAccepted } from '../tasks/task-body.ts';
import { TaskBody } from '../wire/tasks.ts';
import type { FastifyTypeBox } from '../types.ts';
import { resourceUrl } from './shared.ts';
import { AttachPost, Reference, ResizePost, SnapshotBody, SnapshotCreated, SnapshotsPost, VolumeBody, VolumeCreated, VolumePatch, VolumesPost } from '../wire/volumes.ts';

const VOLUMES = '/api/storage/volumes/';

const SNAPSHOTS = '/api/storage/snapshots/';

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
    list: { summary: 'List volumes', filters: { name: Type.Optional(Reference), server: Type.Optional(Reference), state: Type.Optional(Reference), type: Type.Optional(Reference), environment: Type.Optional(Reference) }, run: volumes.list },
    create: {
      summary: 'Create a data volume, empty or from a snapshot, attached at once to a stopped `server` when one is named',
      body: VolumesPost,
      response: VolumeCreated,
      location: true,
      run: async (actor, body) => {
        const input = { name: body.name, size_bytes: body.size, snapshot_id: body.snapshot, environment_id: body.environment, server_id: body.server, mount_path: body.mount_path };
        const { volume, task } = await volumes.create(actor, input);
        return { row: volume, extra: { task: task.id } };
      },
    },
    retrieve: { summary: 'Retrieve a volume', run: volumes.get },
    update: { summary: 'Rename a volume', body: VolumePatch, run: volumes.update },
    remove: { summary: 'Delete a detached data volume (202 with the task)', accepted: true, ifMatch: true, run: volumes.remove },
  });

  app.post(`${VOLUMES}:id/resize/`, {
    schema: { tags, summary: 'Grow a volume (online when attached)', params: IdParams, body: ResizePost, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await volumes.resize(request.actor, request.params.id, { size_bytes: request.body.size })),
  });

  app.post(`${VOLUMES}:id/attach/`, {
    schema: {
      tags,
      summary: 'Attach a data volume to a stopped server; it is mounted at `mount_path` (by default `/mnt/<volume id>`) when the server starts',
      params: IdParams,
      body: AttachPost,
      response: { 202: TaskBody, ...computeErrors },
    },
    handler: async (request, reply) => {
      const input = { server_id: request.body.server, mount_path: request.body.mount_path };
      return sendAccepted(request, reply, await volumes.attach(request.actor, request.params.id, input));
    },
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
    list: { summary: 'List snapshots', filters: { name: Type.Optional(Reference), volume: Type.Optional(Reference) }, run: snapshots.list },
    create: {
      summary: "Snapshot a volume (a root volume's snapshot can become an image)",
      body: SnapshotsPost,
      response: SnapshotCreated,
      location: true,
      run: async (actor, body) => { const { snapshot, task } = await snapshots.create(actor, body); return { row: snapshot, extra: { task: task.id } }; },
    },
    retrieve: { summary: 'Retrieve a snapshot', run: snapshots.get },
    remove: { summary: 'Delete a snapshot (202 with the task)', accepted: true, run: snapshots.remove },
  });
}
