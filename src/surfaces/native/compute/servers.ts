import { Type } from 'typebox';
import type { CoreServices } from '../../../core/services.ts';
import type { Server } from '../../../core/compute/records.ts';
import { SERVER_ACTIONS, ACTION_ALIASES } from '../../../core/compute/states.ts';
import { expectedRevision, revisionEtag } from '../../../http/conventions/etag.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../../../http/pagination.ts';
import { computeErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import { sendAccepted, TaskBody } from '../tasks/task-body.ts';
import type { FastifyTypeBox } from '../types.ts';
import { Bytes, CreatedTask, resourceUrl, sendCreated } from './shared.ts';

const COLLECTION = '/api/servers/servers/';
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const ServerBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  hostname: Type.String(),
  image: Uuid,
  plan: Type.Object({ vcpus: Type.Integer(), memory: Bytes('Memory limit') }),
  state: Type.String({ description: 'stopped, starting, running, stopping or error.' }),
  state_detail: Type.String({ description: 'Why the server is in its state (the error, when it failed).' }),
  private_ip: Type.String(),
  root_volume: Uuid,
  volumes: Type.Array(Type.Object({ id: Uuid, mount_path: Type.String() }), { description: 'Attached data volumes.' }),
  tags: Type.Array(Type.String()),
  organization: Uuid,
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
  facts_updated_at: Nullable(Timestamp),
  // Alpacon's fields, for its CLI.
  remote_ip: Type.String({ description: 'Alpacon: the address to reach the server at (its private address).' }),
  is_connected: Type.Boolean({ description: 'Alpacon: whether the server is running.' }),
  commissioned: Type.Boolean(),
  status: Type.String({ description: 'Alpacon: the state.' }),
  os_name: Type.String(),
  os_version: Type.String(),
  cpu_physical_count: Type.Integer(),
  cpu_type: Type.String(),
  physical_memory: Type.Integer(),
  load: Nullable(Type.Number()),
  boot_time: Nullable(Type.String()),
  owner: Type.Object({ name: Type.String() }),
  groups: Type.Array(Type.String()),
});

const ServerCreated = Type.Intersect([ServerBody, Type.Object(CreatedTask)]);

const ServerPost = Type.Object({
  name: Type.String({ maxLength: 200 }),
  hostname: Type.Optional(Type.String({ maxLength: 200, description: 'Defaults to a form of the name.' })),
  image: Type.Optional(Type.String({ maxLength: 200, description: 'An image id; by default the built-in `busybox` image, which is always there.' })),
  vcpus: Type.Optional(Type.Integer({ description: '1 to 16 (default 1).' })),
  memory: Type.Optional(Type.Integer({ description: 'Memory limit in bytes (default 256 MiB, at least 16 MiB).' })),
  root_volume_size: Type.Optional(Type.Integer({ description: 'Root volume size in bytes (default 1 GiB).' })),
  tags: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 })),
  start: Type.Optional(Type.Boolean({ description: 'Start the server once it is created.' })),
});
const ServerPatch = Type.Object({ name: Type.Optional(Type.String({ maxLength: 200 })), tags: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 })) });

const ActionPost = Type.Object({
  action: Type.String({ maxLength: 50, description: `${[...SERVER_ACTIONS, ...Object.keys(ACTION_ALIASES)].join(', ')}.` }),
  force: Type.Optional(Type.Boolean({ description: 'Alpacon sends it; a poweroff is always forced after the stop timeout.' })),
});
const ActionsBody = Type.Object({ state: Type.String(), actions: Type.Array(Type.String()) });

function render(request: Parameters<typeof resourceUrl>[0]) {
  return (s: Server) => ({
    id: s.id,
    name: s.name,
    hostname: s.hostname,
    image: s.image_id,
    plan: { vcpus: s.vcpus, memory: s.memory_bytes },
    state: s.state,
    state_detail: s.state_detail,
    private_ip: s.private_ip,
    root_volume: s.root_volume_id,
    volumes: s.volumes,
    tags: s.tags,
    organization: s.organization_id,
    url: resourceUrl(request, COLLECTION, s.id),
    created_at: s.created_at,
    updated_at: s.updated_at,
    facts_updated_at: s.facts_updated_at,
    remote_ip: s.private_ip,
    is_connected: s.state === 'running',
    commissioned: true,
    status: s.state,
    os_name: s.facts?.os.name ?? '',
    os_version: s.facts?.os.version ?? '',
    cpu_physical_count: s.facts?.cpu.count ?? s.vcpus,
    cpu_type: s.facts?.cpu.model ?? '',
    physical_memory: s.facts?.memoryBytes ?? s.memory_bytes,
    load: null,
    boot_time: s.facts?.bootTime ?? null,
    owner: { name: s.owner_name },
    groups: [],
  });
}

/** `/api/servers/servers/`: servers of the acting organization and its sub-organizations. */
export function serverRoutes(app: FastifyTypeBox, { compute }: CoreServices): void {
  const { servers } = compute;
  const tags = ['servers'];

  app.get(COLLECTION, {
    schema: {
      tags,
      summary: 'List servers',
      querystring: listQuerySchema({ name: Type.Optional(Type.String({ maxLength: 200 })), state: Type.Optional(Type.String({ maxLength: 20 })), image: Type.Optional(Type.String({ maxLength: 200 })) }),
      response: { 200: listResponseSchema(ServerBody), ...computeErrors },
    },
    handler: async (request, reply) => sendList(request, reply, await servers.list(request.actor, toListRequest(request.query)), render(request)),
  });

  app.post(COLLECTION, {
    schema: { tags, summary: 'Create a server (its task makes it on the host, and starts it with `start: true`)', body: ServerPost, response: { 201: ServerCreated, ...computeErrors } },
    handler: async (request, reply) => {
      const { server, task } = await servers.create(request.actor, request.body);
      reply.header('etag', revisionEtag(server.id, server.revision));
      return sendCreated(request, reply, COLLECTION, server.id, render(request)(server), task.id);
    },
  });

  app.get(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Retrieve a server', params: IdParams, response: { 200: ServerBody, ...computeErrors } },
    handler: async (request, reply) => {
      const server = await servers.get(request.actor, request.params.id);
      reply.header('etag', revisionEtag(server.id, server.revision));
      return render(request)(server);
    },
  });

  app.patch(`${COLLECTION}:id/`, {
    schema: { tags, summary: "Change a server's name or tags", params: IdParams, body: ServerPatch, response: { 200: ServerBody, ...computeErrors } },
    handler: async (request, reply) => {
      const { id } = request.params;
      const server = await servers.update(request.actor, id, request.body, { expectedRevision: expectedRevision(request, id) });
      reply.header('etag', revisionEtag(server.id, server.revision));
      return render(request)(server);
    },
  });

  app.delete(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Delete a stopped server and its root volume (202 with the task; attached data volumes are detached)', params: IdParams, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => {
      const { id } = request.params;
      return sendAccepted(request, reply, await servers.remove(request.actor, id, { expectedRevision: expectedRevision(request, id) }));
    },
  });

  app.get(`${COLLECTION}:id/actions/`, {
    schema: { tags, summary: 'The actions the server accepts in its current state', params: IdParams, response: { 200: ActionsBody, ...computeErrors } },
    handler: async (request) => servers.allowedActions(request.actor, request.params.id),
  });

  app.post(`${COLLECTION}:id/actions/`, {
    schema: { tags, summary: 'Power on, power off, reboot or terminate a server, or refresh its facts (202 with the task)', params: IdParams, body: ActionPost, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await servers.act(request.actor, request.params.id, request.body.action)),
  });
}
