import { Type } from 'typebox';
import type { CoreServices } from '../../../core/services.ts';
import type { Server } from '../../../core/compute/records.ts';
import { SERVER_ACTIONS, ACTION_ALIASES } from '../../../core/compute/states.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { computeErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import { sendAccepted, TaskBody } from '../tasks/task-body.ts';
import type { FastifyTypeBox } from '../types.ts';
import { Bytes, CreatedTask, resourceUrl } from './shared.ts';

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
  environment: Nullable(Uuid),
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
  plan: Type.Optional(Type.String({ maxLength: 200, description: 'A plan id (GET /api/servers/plans/) instead of vcpus and memory.' })),
  environment: Type.Optional(Type.String({ maxLength: 200, description: 'An environment of the acting organization the server belongs to.' })),
});
const ServerPatch = Type.Object({
  name: Type.Optional(Type.String({ maxLength: 200 })),
  hostname: Type.Optional(Type.String({ maxLength: 200, description: 'Shown from the next start.' })),
  tags: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 50 })),
});
const ResizePost = Type.Object({
  plan: Type.Optional(Type.String({ maxLength: 200, description: 'A plan id (GET /api/servers/plans/).' })),
  vcpus: Type.Optional(Type.Integer({ description: '1 to 16.' })),
  memory: Type.Optional(Type.Integer({ description: 'Memory limit in bytes.' })),
});

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
    environment: s.environment_id,
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

  collectionRoutes(app, {
    path: COLLECTION,
    tags,
    errors: computeErrors,
    item: ServerBody,
    render,
    revisions: true,
    list: {
      summary: 'List servers',
      filters: {
        name: Type.Optional(Type.String({ maxLength: 200 })),
        state: Type.Optional(Type.String({ maxLength: 20 })),
        image: Type.Optional(Type.String({ maxLength: 200 })),
        environment: Type.Optional(Type.String({ maxLength: 200 })),
      },
      run: servers.list,
    },
    create: {
      summary: 'Create a server (its task makes it on the host, and starts it with `start: true`)',
      body: ServerPost,
      response: ServerCreated,
      location: true,
      run: async (actor, body) => { const { server, task } = await servers.create(actor, body); return { row: server, extra: { task: task.id } }; },
    },
    retrieve: { summary: 'Retrieve a server', run: servers.get },
    update: { summary: "Change a server's name, host name or tags", body: ServerPatch, run: servers.update },
    remove: { summary: 'Delete a stopped server and its root volume (202 with the task; attached data volumes are detached)', accepted: true, ifMatch: true, run: servers.remove },
  });

  app.get(`${COLLECTION}:id/actions/`, {
    schema: { tags, summary: 'The actions the server accepts in its current state', params: IdParams, response: { 200: ActionsBody, ...computeErrors } },
    handler: async (request) => servers.allowedActions(request.actor, request.params.id),
  });

  app.post(`${COLLECTION}:id/actions/`, {
    schema: { tags, summary: 'Power on, power off, reboot or terminate a server, or refresh its facts (202 with the task)', params: IdParams, body: ActionPost, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await servers.act(request.actor, request.params.id, request.body.action)),
  });

  app.post(`${COLLECTION}:id/resize/`, {
    schema: { tags, summary: 'Give a stopped server a new size, a plan or vcpus and memory (202 with the task; the next start applies it)', params: IdParams, body: ResizePost, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await servers.resize(request.actor, request.params.id, request.body)),
  });
}
