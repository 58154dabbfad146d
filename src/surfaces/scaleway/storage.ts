import { Type, type Static, type TSchema } from 'typebox';
import type { Actor } from '../../core/actor.ts';
import type { Image, Snapshot, Volume } from '../../core/compute/records.ts';
import { NotFound } from '../../core/errors.ts';
import type { ListRequest, ListResult } from '../../core/listing.ts';
import type { FieldNames } from '../../http/field-names.ts';
import type { CoreServices } from '../../core/services.ts';
import type { FastifyTypeBox } from '../native/types.ts';
import { IdParams, linkTo, listPage, listQuery, Organization, paginate, toListRequest, Uuid } from './conventions.ts';
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

interface Collection<Row, Shown> {
  /** `volumes` -> `/volumes`, `{"volumes": [...]}` and `{"volume": ...}`. */
  plural: string;
  singular: string;
  service: {
    list(actor: Actor, request: ListRequest): Promise<ListResult<Row>>;
    get(actor: Actor, id: string): Promise<Row>;
    remove(actor: Actor, id: string): Promise<unknown>;
  };
  /** Renders records, reading what they refer to once for all of them. */
  show(actor: Actor, rows: Row[]): Promise<Shown[]>;
  create: { body: TSchema; fields?: FieldNames; run(actor: Actor, body: any): Promise<Row & { id: string }> };
}

/** A collection's list (paged, filtered by name), create (201), show and delete (204) routes. */
function collectionRoutes<Row, Shown>(app: FastifyTypeBox, { plural, singular, service, show, create }: Collection<Row, Shown>): void {
  app.get(`/${plural}`, { schema: { querystring: NameQuery } }, async (request, reply) => {
    const page = await listPage(toListRequest(request.query, ['name']), (list) => service.list(request.actor, list));
    paginate(request, reply, page);
    return { [plural]: await show(request.actor, page.items) };
  });
  app.post(`/${plural}`, { config: { scalewayFields: create.fields }, schema: { body: create.body } }, async (request, reply) => {
    const row = await create.run(request.actor, request.body);
    reply.header('location', linkTo(request, `/${plural}/${row.id}`));
    return reply.code(201).send({ [singular]: (await show(request.actor, [row]))[0] });
  });
  app.get(`/${plural}/:id`, { schema: { params: IdParams } }, async (request) => ({ [singular]: (await show(request.actor, [await service.get(request.actor, request.params.id)]))[0] }));
  app.delete(`/${plural}/:id`, { schema: { params: IdParams } }, async (request, reply) => {
    await service.remove(request.actor, request.params.id);
    return reply.code(204).send();
  });
}

/** `{id, name}` of the resources a list refers to, each read once; one that is gone (or hidden) is null. */
async function summaries(ids: (string | null)[], get: (id: string) => Promise<{ id: string; name: string }>) {
  const unique = [...new Set(ids.filter((id): id is string => id !== null))];
  const found = await Promise.all(unique.map((id) => get(id).then((r) => ({ id: r.id, name: r.name }), (error) => (error instanceof NotFound ? null : Promise.reject(error)))));
  return (id: string | null) => found.find((f) => f?.id === id) ?? null;
}

export function storageRoutes(app: FastifyTypeBox, { compute }: CoreServices): void {
  const { volumes, snapshots, images, servers } = compute;

  async function showVolumes(actor: Actor, list: Volume[]) {
    const server = await summaries(list.map((v) => v.server_id), (id) => servers.get(actor, id));
    return list.map((v) => renderVolume(v, server(v.server_id)));
  }

  collectionRoutes(app, {
    plural: 'volumes',
    singular: 'volume',
    service: volumes,
    show: showVolumes,
    create: { body: VolumePost, fields: { size_bytes: 'size' }, run: async (actor, body: Static<typeof VolumePost>) => (await volumes.create(actor, { name: body.name, size_bytes: body.size })).volume },
  });
  const renameVolume = async (request: { actor: Actor; params: { id: string }; body: { name?: string } }) => {
    const volume = await volumes.update(request.actor, request.params.id, { name: request.body.name });
    return { volume: (await showVolumes(request.actor, [volume]))[0] };
  };
  app.put('/volumes/:id', { schema: { params: IdParams, body: VolumePut } }, renameVolume);
  app.patch('/volumes/:id', { schema: { params: IdParams, body: VolumePut } }, renameVolume);

  collectionRoutes(app, {
    plural: 'snapshots',
    singular: 'snapshot',
    service: snapshots,
    async show(actor, list: Snapshot[]) {
      const volume = await summaries(list.map((s) => s.volume_id), (id) => volumes.get(actor, id));
      return list.map((s) => renderSnapshot(s, volume(s.volume_id)));
    },
    create: {
      body: SnapshotPost,
      fields: { volume: 'volume_id' },
      run: async (actor, body: Static<typeof SnapshotPost>) => (await snapshots.create(actor, { name: body.name, volume: body.volume_id })).snapshot,
    },
  });

  collectionRoutes(app, {
    plural: 'images',
    singular: 'image',
    service: images,
    async show(actor, list: Image[]) {
      const snapshot = await summaries(list.map((i) => i.snapshot_id), (id) => snapshots.get(actor, id));
      return list.map((i) => renderImage(i, snapshot(i.snapshot_id)));
    },
    create: {
      body: ImagePost,
      fields: { snapshot: 'root_volume' },
      run: async (actor, body: Static<typeof ImagePost>) => (await images.fromSnapshot(actor, { name: body.name, snapshot: body.root_volume })).image,
    },
  });
}
