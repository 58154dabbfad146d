import { Type, type Static } from 'typebox';
import type { CoreServices } from '../../../core/services.ts';
import type { Server } from '../../../core/compute/records.ts';
import type { ResizeInput, ServerInput } from '../../../core/compute/server-service.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { computeErrors, IdParams } from '../wire/common.ts';
import { sendAccepted } from '../tasks/task-body.ts';
import { TaskBody } from '../wire/tasks.ts';
import type { FastifyTypeBox } from '../types.ts';
import { serverStatus } from './server-status.ts';
import { resourceUrl } from './shared.ts';
import { ActionPost, ActionsBody, ResizePost, ServerBody, ServerCreated, ServerPatch, ServerPost } from '../wire/servers.ts';

const COLLECTION = '/api/servers/servers/';

const serverInput = (body: Static<typeof ServerPost>): ServerInput => ({
  name: body.name,
  hostname: body.hostname,
  image_id: body.image,
  vcpus: body.vcpus,
  memory_bytes: body.memory,
  root_volume_bytes: body.root_volume_size,
  tags: body.tags,
  start: body.start,
  plan_id: body.plan,
  environment_id: body.environment,
});

const resizeInput = (body: Static<typeof ResizePost>): ResizeInput => ({ plan_id: body.plan, vcpus: body.vcpus, memory_bytes: body.memory });

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
    destroyed_at: s.destroyed_at,
    remote_ip: s.private_ip,
    is_connected: s.state === 'running',
    commissioned: true,
    status: serverStatus(s.state, s.state_detail),
    os_name: s.facts?.os.name ?? '',
    os_version: s.facts?.os.version ?? '',
    cpu_physical_cores: s.facts?.cpu.count ?? s.vcpus,
    cpu_logical_cores: s.facts?.cpu.count ?? s.vcpus,
    cpu_type: s.facts?.cpu.model ?? '',
    physical_memory: s.facts?.memoryBytes ?? s.memory_bytes,
    boot_time: s.facts?.bootTime,
    owner: { id: s.organization_id, name: s.owner_name, email: '' },
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
      run: async (actor, body) => {
        const { server, task } = await servers.create(actor, serverInput(body));
        return { row: server, extra: { task: task.id } };
      },
    },
    retrieve: { summary: 'Retrieve a server', run: servers.get },
    update: { summary: "Change a server's name, host name or tags", body: ServerPatch, run: servers.update },
    remove: { summary: 'Delete a stopped or destroyed server and its root volume at once (202 with the task; attached data volumes are detached)', accepted: true, ifMatch: true, run: servers.remove },
  });

  app.get(`${COLLECTION}:id/actions/`, {
    schema: { tags, summary: 'The actions the server accepts in its current state', params: IdParams, response: { 200: ActionsBody, ...computeErrors } },
    handler: async (request) => servers.allowedActions(request.actor, request.params.id),
  });

  app.post(`${COLLECTION}:id/actions/`, {
    schema: { tags, summary: 'Power on, power off, reboot, terminate, destroy, recover or purge a server, reset its root password (the task result holds the new one) or refresh its facts (202 with the task)', params: IdParams, body: ActionPost, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await servers.act(request.actor, request.params.id, request.body.action)),
  });

  app.post(`${COLLECTION}:id/resize/`, {
    schema: { tags, summary: 'Give a stopped server a new size, a plan or vcpus and memory (202 with the task; the next start applies it)', params: IdParams, body: ResizePost, response: { 202: TaskBody, ...computeErrors } },
    handler: async (request, reply) => sendAccepted(request, reply, await servers.resize(request.actor, request.params.id, resizeInput(request.body))),
  });
}
