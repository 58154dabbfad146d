import { Type } from 'typebox';
import type { Actor } from '../../core/actor.ts';
import { NotFound } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import type { FastifyTypeBox } from '../native/types.ts';
import { IdParams, listPage, listQuery, Organization, paginate, toListRequest, Uuid } from './conventions.ts';
import { renderImage, renderSnapshot, renderVolume, VOLUME_TYPE } from './render.ts';

/** Scaleway's volumes (sizes in bytes, all `l_ssd`), snapshots of them, and images made from snapshots. */

const VolumePost = Type.Object({ name: Type.String(), size: Type.Integer(), volume_type: Type.Optional(Type.Literal(VOLUME_TYPE)), organization: Organization }, { additionalProperties: false });
// The legacy CLI sends back every field it read: only the name changes.
const VolumePut = Type.Object({ name: Type.Optional(Type.String()), organization: Organization }, { additionalProperties: true });
const SnapshotPost = Type.Object({ volume_id: Uuid, name: Type.String(), organization: Organization }, { additionalProperties: false });
const ImagePost = Type.Object(
  {
    root_volume: Uuid,
    name: Type.String(),
    // An image's architecture is that of its content: what is sent is not a choice.
    arch: Type.Optional(Type.String()),
    organization: Organization,
    default_bootscript: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  { additionalProperties: false },
);
const NameQuery = listQuery({ name: Type.Optional(Type.String()) });

/** `{id, name}` of the resources a list refers to, each read once; one that is gone (or hidden) is null. */
async function summaries(ids: (string | null)[], get: (id: string) => Promise<{ id: string; name: string }>) {
  const unique = [...new Set(ids.filter((id): id is string => id !== null))];
  const found = await Promise.all(unique.map((id) => get(id).then((r) => ({ id: r.id, name: r.name }), (error) => (error instanceof NotFound ? null : Promise.reject(error)))));
  return (id: string | null) => found.find((f) => f?.id === id) ?? null;
}

export function storageRoutes(app: FastifyTypeBox, { compute }: CoreServices): void {
  const { volumes, snapshots, images, servers } = compute;
  const serversOf = (actor: Actor, ids: (string | null)[]) => summaries(ids, (id) => servers.get(actor, id));
  const volumesOf = (actor: Actor, ids: (string | null)[]) => summaries(ids, (id) => volumes.get(actor, id));
  const snapshotsOf = (actor: Actor, ids: (string | null)[]) => summaries(ids, (id) => snapshots.get(actor, id));

  async function showVolumes(actor: Actor, list: Awaited<ReturnType<typeof volumes.get>>[]) {
    const server = await serversOf(actor, list.map((v) => v.server_id));
    return list.map((v) => renderVolume(v, server(v.server_id)));
  }
  async function showSnapshots(actor: Actor, list: Awaited<ReturnType<typeof snapshots.get>>[]) {
    const volume = await volumesOf(actor, list.map((s) => s.volume_id));
    return list.map((s) => renderSnapshot(s, volume(s.volume_id)));
  }
  async function showImages(actor: Actor, list: Awaited<ReturnType<typeof images.get>>[]) {
    const snapshot = await snapshotsOf(actor, list.map((i) => i.snapshot_id));
    return list.map((i) => renderImage(i, snapshot(i.snapshot_id)));
  }

  app.get('/volumes', { schema: { querystring: NameQuery } }, async (request, reply) => {
    const page = await listPage(toListRequest(request.query, ['name']), (list) => volumes.list(request.actor, list));
    paginate(request, reply, page);
    return { volumes: await showVolumes(request.actor, page.items) };
  });
  app.post('/volumes', { schema: { body: VolumePost } }, async (request, reply) => {
    const { volume } = await volumes.create(request.actor, { name: request.body.name, size: request.body.size });
    return reply.code(201).send({ volume: (await showVolumes(request.actor, [volume]))[0] });
  });
  app.get('/volumes/:id', { schema: { params: IdParams } }, async (request) => ({ volume: (await showVolumes(request.actor, [await volumes.get(request.actor, request.params.id)]))[0] }));
  const renameVolume = async (request: { actor: Actor; params: { id: string }; body: { name?: string } }) => {
    const volume = await volumes.update(request.actor, request.params.id, { name: request.body.name });
    return { volume: (await showVolumes(request.actor, [volume]))[0] };
  };
  app.put('/volumes/:id', { schema: { params: IdParams, body: VolumePut } }, renameVolume);
  app.patch('/volumes/:id', { schema: { params: IdParams, body: VolumePut } }, renameVolume);
  app.delete('/volumes/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await volumes.remove(request.actor, request.params.id);
    return reply.code(204).send();
  });

  app.get('/snapshots', { schema: { querystring: NameQuery } }, async (request, reply) => {
    const page = await listPage(toListRequest(request.query, ['name']), (list) => snapshots.list(request.actor, list));
    paginate(request, reply, page);
    return { snapshots: await showSnapshots(request.actor, page.items) };
  });
  app.post('/snapshots', { config: { scalewayFields: { volume: 'volume_id' } }, schema: { body: SnapshotPost } }, async (request, reply) => {
    const { snapshot } = await snapshots.create(request.actor, { name: request.body.name, volume: request.body.volume_id });
    return reply.code(201).send({ snapshot: (await showSnapshots(request.actor, [snapshot]))[0] });
  });
  app.get('/snapshots/:id', { schema: { params: IdParams } }, async (request) => ({ snapshot: (await showSnapshots(request.actor, [await snapshots.get(request.actor, request.params.id)]))[0] }));
  app.delete('/snapshots/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await snapshots.remove(request.actor, request.params.id);
    return reply.code(204).send();
  });

  app.get('/images', { schema: { querystring: NameQuery } }, async (request, reply) => {
    const page = await listPage(toListRequest(request.query, ['name']), (list) => images.list(request.actor, list));
    paginate(request, reply, page);
    return { images: await showImages(request.actor, page.items) };
  });
  app.post('/images', { config: { scalewayFields: { snapshot: 'root_volume' } }, schema: { body: ImagePost } }, async (request, reply) => {
    const { image } = await images.fromSnapshot(request.actor, { name: request.body.name, snapshot: request.body.root_volume });
    return reply.code(201).send({ image: (await showImages(request.actor, [image]))[0] });
  });
  app.get('/images/:id', { schema: { params: IdParams } }, async (request) => ({ image: (await showImages(request.actor, [await images.get(request.actor, request.params.id)]))[0] }));
  app.delete('/images/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await images.remove(request.actor, request.params.id);
    return reply.code(204).send();
  });
}
