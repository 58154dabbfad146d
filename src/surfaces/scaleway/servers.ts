import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import type { Actor } from '../../core/actor.ts';
import type { Server } from '../../core/compute/records.ts';
import { BACKUP_STATES } from '../../core/compute/backup-service.ts';
import type { ServerInput, ServerVolumeInput } from '../../core/compute/server-service.ts';
import { NotFound, ValidationFailed } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import { surfaceFieldErrors, type FieldNames } from '../../http/field-names.ts';
import type { FastifyTypeBox } from '../native/types.ts';
import { IdParams, linkTo, listPage, listQuery, Organization, paginate, toListRequest, Uuid } from './conventions.ts';
import { COMMERCIAL_TYPES, DEFAULT_COMMERCIAL_TYPE } from './products.ts';
import { mountPathOf, renderServer, renderTask, scalewayArch, volumeMap, VOLUME_TYPE } from './render.ts';

/** Scaleway's servers: `volumes` maps, commercial types, actions answered with a task, user data. */

const SCALEWAY_ACTIONS = ['poweron', 'poweroff', 'reboot', 'terminate', 'backup'] as const;
const MAX_POSITION = 15;

const NewVolume = Type.Object(
  { name: Type.Optional(Type.String()), size: Type.Integer(), volume_type: Type.Optional(Type.Literal(VOLUME_TYPE)), organization: Organization },
  { additionalProperties: false },
);
/** Positions "0" (the root volume) to "15"; each an existing volume's id or a volume to make. */
const VolumeMap = Type.Record(Type.String({ pattern: `^(?:[0-9]|1[0-${MAX_POSITION - 10}])$` }), Type.Union([Uuid, NewVolume, Type.Object({ id: Uuid }, { additionalProperties: true })]), { additionalProperties: false });
const Tags = Type.Array(Type.String());

const ServerPost = Type.Object(
  {
    name: Type.String(),
    organization: Organization,
    image: Type.Optional(Uuid),
    commercial_type: Type.Optional(Type.Union(Object.keys(COMMERCIAL_TYPES).map((t) => Type.Literal(t)))),
    volumes: Type.Optional(VolumeMap),
    tags: Type.Optional(Tags),
    hostname: Type.Optional(Type.String()),
    // Accepted for the clients that send them: no bootscripts, and no public addresses (so no dynamic ones).
    bootscript: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    dynamic_ip_required: Type.Optional(Type.Boolean()),
    enable_ipv6: Type.Optional(Type.Literal(false)),
    public_ip: Type.Optional(Type.Null()),
    security_group: Type.Optional(Type.Null()),
  },
  { additionalProperties: false },
);
const ServerPatch = Type.Object(
  {
    name: Type.Optional(Type.String()),
    hostname: Type.Optional(Type.String()),
    tags: Type.Optional(Tags),
    volumes: Type.Optional(VolumeMap),
    organization: Organization,
  },
  // Clients send back the whole server they read: what cannot change here is left alone.
  { additionalProperties: true },
);
// `name` names a backup's image (the server's name and the time, by default).
const ActionPost = Type.Object({ action: Type.Union(SCALEWAY_ACTIONS.map((a) => Type.Literal(a))), name: Type.Optional(Type.String()), organization: Organization }, { additionalProperties: false });
const ServersQuery = listQuery({ name: Type.Optional(Type.String()), state: Type.Optional(Type.String()), tags: Type.Optional(Type.String()) });
const UserDataParams = Type.Object({ id: Type.String({ maxLength: 200 }), key: Type.String({ maxLength: 200 }) });

type VolumeMapBody = Record<string, string | { id?: string; name?: string; size?: number }>;

/** A create's `volumes` map as core's root size and data volumes; core's `volumes.<i>` errors map back to the positions. */
function translateVolumes(serverName: string, map: VolumeMapBody = {}) {
  const positions: string[] = [];
  const volumes: ServerVolumeInput[] = [];
  let rootSize: number | undefined;
  for (const [position, value] of Object.entries(map).sort(([a], [b]) => Number(a) - Number(b))) {
    if (position === '0') {
      if (typeof value === 'string' || value.size === undefined || value.id !== undefined) {
        throw ValidationFailed.field('volumes.0', "a server's root volume is made from its image: give its size ({\"size\": bytes}) or leave it out");
      }
      rootSize = value.size;
      continue;
    }
    positions.push(position);
    const mount_path = mountPathOf(position);
    if (typeof value === 'string' || value.id !== undefined) volumes.push({ volume_id: typeof value === 'string' ? value : value.id!, mount_path });
    else volumes.push({ name: value.name ?? `${serverName}-${position}`, size_bytes: value.size!, mount_path });
  }
  return { rootSize, volumes, positions };
}

function volumeErrorsAtPositions(error: unknown, positions: string[]): unknown {
  if (!(error instanceof ValidationFailed)) return error;
  // Core numbers the create's volumes in order; Scaleway names them by position, an existing one by the position alone.
  const names = Object.fromEntries(positions.flatMap((position, i) => [[`volumes.${i}.volume_id`, `volumes.${position}`], [`volumes.${i}.size_bytes`, `volumes.${position}.size`], [`volumes.${i}.name`, `volumes.${position}.name`], [`volumes.${i}.mount_path`, `volumes.${position}.mount_path`]]));
  return new ValidationFailed(surfaceFieldErrors(error, names), error.nonField);
}

const CREATE_FIELDS: FieldNames = { root_volume_bytes: 'volumes.0.size', vcpus: 'commercial_type', memory_bytes: 'commercial_type', image_id: 'image' };

export function serverRoutes(app: FastifyTypeBox, { compute }: CoreServices): void {
  const { servers, images, volumes, userData, backups } = compute;

  /** The images servers boot from, as `{id, name, arch}`, read once per distinct image. */
  async function imagesOf(actor: Actor, list: Server[]) {
    const ids = [...new Set(list.map((s) => s.image_id))];
    const found = await Promise.all(ids.map((id) => images.get(actor, id).catch((error) => (error instanceof NotFound ? null : Promise.reject(error)))));
    return new Map(found.filter((i) => i !== null).map((i) => [i.id, { id: i.id, name: i.name, arch: scalewayArch(i.arch) }]));
  }

  async function render(actor: Actor, server: Server) {
    return renderServer(server, (await imagesOf(actor, [server])).get(server.image_id) ?? null);
  }

  app.get('/servers', { schema: { querystring: ServersQuery } }, async (request, reply) => {
    // Scaleway's `tags` keeps servers holding every tag listed: core filters before paging.
    const page = await listPage(toListRequest(request.query, ['name', 'state', 'tags']), (list) => servers.list(request.actor, list));
    const known = await imagesOf(request.actor, page.items);
    paginate(request, reply, page);
    return { servers: page.items.map((s) => renderServer(s, known.get(s.image_id) ?? null)) };
  });

  app.post('/servers', { config: { scalewayFields: CREATE_FIELDS }, schema: { body: ServerPost } }, async (request, reply) => {
    const body = request.body;
    const plan = COMMERCIAL_TYPES[body.commercial_type ?? DEFAULT_COMMERCIAL_TYPE]!;
    const { rootSize, volumes: attached, positions } = translateVolumes(body.name, body.volumes as VolumeMapBody);
    const input: ServerInput = { name: body.name, image_id: body.image, hostname: body.hostname, tags: body.tags, vcpus: plan.vcpus, memory_bytes: plan.memory, root_volume_bytes: rootSize, volumes: attached };
    const { server } = await servers.create(request.actor, input).catch((error) => Promise.reject(volumeErrorsAtPositions(error, positions)));
    reply.header('location', linkTo(request, `/servers/${server.id}`));
    return reply.code(201).send({ server: await render(request.actor, server) });
  });

  app.get('/servers/:id', { schema: { params: IdParams } }, async (request) => ({ server: await render(request.actor, await servers.get(request.actor, request.params.id)) }));

  /** Name, host name and tags change in core; a changed `volumes` map attaches and detaches data volumes. */
  const update = async (request: { actor: Actor; params: { id: string }; body: { name?: string; hostname?: string; tags?: string[]; volumes?: unknown } }) => {
    const { actor, params, body } = request;
    const current = await servers.get(actor, params.id);
    if (body.volumes !== undefined) await changeVolumes(actor, current, body.volumes as VolumeMapBody);
    const server = await servers.update(actor, current.id, { name: body.name, hostname: body.hostname, tags: body.tags });
    return { server: await render(actor, server) };
  };

  async function changeVolumes(actor: Actor, server: Server, wanted: VolumeMapBody): Promise<void> {
    const idOf = (value: VolumeMapBody[string]) => (typeof value === 'string' ? value : value.id);
    const desired = new Map<string, string>();
    for (const [position, value] of Object.entries(wanted)) {
      const id = idOf(value);
      if (id === undefined) throw ValidationFailed.field(`volumes.${position}`, 'give an existing volume\'s id: new volumes are made with POST /volumes');
      if (position === '0' ? id !== server.root_volume.id : id === server.root_volume.id) throw ValidationFailed.field(`volumes.${position}`, "the root volume stays at position 0");
      if (position !== '0') desired.set(id, position);
    }
    const held = volumeMap(server);
    const current = new Map(Object.entries(held).filter(([position]) => position !== '0').map(([position, v]) => [v.id, position]));
    for (const [id, position] of desired) {
      if (current.has(id) && current.get(id) !== position) throw ValidationFailed.field(`volumes.${position}`, 'a volume keeps its position: detach it first, then attach it at the new one');
    }
    for (const id of current.keys()) if (!desired.has(id)) await volumes.detach(actor, id);
    for (const [id, position] of desired) {
      if (current.has(id)) continue;
      await volumes.attach(actor, id, { server_id: server.id, mount_path: mountPathOf(position) }).catch((error) => {
        throw error instanceof ValidationFailed ? ValidationFailed.field(`volumes.${position}`, Object.values(error.fields).flat().join(' ') || error.message) : error;
      });
    }
  }

  app.patch('/servers/:id', { config: { scalewayFields: { vcpus: 'commercial_type' } }, schema: { params: IdParams, body: ServerPatch } }, update);
  app.put('/servers/:id', { schema: { params: IdParams, body: ServerPatch } }, update);

  app.delete('/servers/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await servers.remove(request.actor, request.params.id);
    return reply.code(204).send();
  });

  app.get('/servers/:id/action', { schema: { params: IdParams } }, async (request) => {
    const { state, actions } = await servers.allowedActions(request.actor, request.params.id);
    const backup = (BACKUP_STATES as readonly string[]).includes(state) ? ['backup'] : [];
    return { actions: [...actions.filter((a) => (SCALEWAY_ACTIONS as readonly string[]).includes(a)), ...backup] };
  });

  // Scaleway's terminate deletes the server's volumes with it; a backup snapshots every volume and makes an image.
  app.post('/servers/:id/action', { schema: { params: IdParams, body: ActionPost } }, async (request, reply) => {
    const { action, name } = request.body;
    const task =
      action === 'backup'
        ? (await backups.backup(request.actor, request.params.id, { name })).task
        : await servers.act(request.actor, request.params.id, action, { deleteVolumes: action === 'terminate' });
    reply.header('location', linkTo(request, `/tasks/${task.id}`));
    return reply.code(202).send({ task: renderTask(task, (path) => linkTo(request, path)) });
  });

  app.register(async (raw: FastifyInstance) => userDataRoutes(raw.withTypeProvider(), userData));
}

/** `/servers/:id/user_data[/:key]`: values travel as raw bytes (`text/plain` or any type). */
function userDataRoutes(app: FastifyTypeBox, userData: CoreServices['compute']['userData']): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.get('/servers/:id/user_data', { schema: { params: IdParams } }, async (request) => ({ user_data: await userData.keys(request.actor, request.params.id) }));

  app.get('/servers/:id/user_data/:key', { schema: { params: UserDataParams } }, async (request, reply) => {
    const value = await userData.get(request.actor, request.params.id, request.params.key);
    return reply.type('text/plain').send(value);
  });

  app.patch('/servers/:id/user_data/:key', { schema: { params: UserDataParams } }, async (request, reply) => {
    const body = request.body;
    await userData.set(request.actor, request.params.id, request.params.key, Buffer.isBuffer(body) ? body : Buffer.alloc(0));
    return reply.code(204).send();
  });

  app.delete('/servers/:id/user_data/:key', { schema: { params: UserDataParams } }, async (request, reply) => {
    await userData.remove(request.actor, request.params.id, request.params.key);
    return reply.code(204).send();
  });
}
