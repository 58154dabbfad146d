import type { FastifyInstance } from 'fastify';
import type { App } from '../../core/apps/app-service.ts';
import { SIZES } from '../../core/apps/plans.ts';
import type { CoreServices } from '../../core/services.ts';
import { ValidationFailed } from '../../core/errors.ts';
import type { AppLogLine } from '../../core/apps/log-service.ts';
import type { AppContainerRow, AppFormationRow } from '../../store/schema.ts';
import { rooted } from './errors.ts';
import { pageRequest, paginationHeaders } from './pagination.ts';

type AppServices = Pick<CoreServices, 'apps'>;

/** ComputeStacks' container states, from an app container's. */
const CONTAINER_STATES: Record<AppContainerRow['state'], string> = { starting: 'starting', up: 'online', stopping: 'stopping', crashed: 'alert' };
/** ComputeStacks' service states, from an app's status. */
const SERVICE_STATES: Record<App['status'], string> = { new: 'working', building: 'working', running: 'online', stopped: 'offline', crashed: 'alert', restarting: 'working', scaling: 'working', booting: 'working', deleting: 'deleting' };
const POWER_ACTIONS = ['start', 'stop', 'restart'] as const;
/** Most log lines one request reads (ComputeStacks reads 500 unless `limit` says otherwise). */
const LOG_LIMIT_DEFAULT = 500;
const LOG_LIMIT_MAX = 10_000;

/** A container as ComputeStacks names it: its app's name and its process (`shop-web-1`). */
export const containerName = (app: { name: string }, row: Pick<AppContainerRow, 'process_type' | 'process_index'>) => `${app.name}-${row.process_type}-${row.process_index}`;

export function renderContainer(app: App, row: AppContainerRow, projectId: string | null = null) {
  return {
    id: row.id,
    name: containerName(app, row),
    req_state: 'running',
    current_state: CONTAINER_STATES[row.state],
    stats: null,
    local_ip: row.address,
    public_ip: null,
    created_at: row.created_at,
    updated_at: row.created_at,
    project_id: projectId,
    container_service_id: app.id,
    ingress_rules: [],
    links: { container_service: `/api/container_services/${app.id}`, logs: `/api/containers/${row.id}/logs`, project: projectId ? `/api/projects/${projectId}` : null },
  };
}

/** A container service: an app, its web size as its package, its running containers counted. */
export function renderService(app: App, formation: AppFormationRow[], containers: number, project: { id: string; name: string } | null = null) {
  const web = formation.find((row) => row.process_type === 'web') ?? formation[0];
  const size = web ? SIZES[web.size] : undefined;
  return {
    id: app.id,
    name: app.name,
    label: app.name,
    default_domain: new URL(app.web_url).hostname,
    public_ip: null,
    command: null,
    is_load_balancer: false,
    has_domain_management: true,
    current_state: SERVICE_STATES[app.status],
    auto_scale: false,
    auto_scale_horizontal: false,
    auto_scale_max: 0,
    labels: {},
    created_at: app.created_at,
    updated_at: app.updated_at,
    ...(project ? { project } : {}),
    image: { id: app.stack, name: app.stack, label: app.stack, role: 'web' },
    package: web && size ? { label: web.size, cpu: size.cpu, memory: size.memoryBytes / (1024 * 1024), qty: formation.reduce((n, row) => n + row.amount, 0) } : {},
    deployed_containers: containers,
    links: {
      containers: `/api/container_services/${app.id}/containers`,
      logs: `/api/container_services/${app.id}/logs`,
      ...(project ? { project: `/api/projects/${project.id}` } : {}),
    },
  };
}

/** A service with what it shows of its formation and containers. */
export async function describeService({ apps }: AppServices, actor: Parameters<AppServices['apps']['formation']['get']>[0], app: App, project: { id: string; name: string } | null = null) {
  const [formation, containers] = await Promise.all([apps.formation.get(actor, app.id), apps.formation.containers(actor, app.id)]);
  return renderService(app, formation, containers.length, project);
}

function logLimit(query: Record<string, unknown>): number {
  const given = query.limit;
  if (given === undefined || given === '') return LOG_LIMIT_DEFAULT;
  if (typeof given !== 'string' || !/^\d{1,6}$/.test(given) || Number(given) < 1) throw new ValidationFailed({}, ['limit must be a positive integer']);
  return Math.min(Number(given), LOG_LIMIT_MAX);
}

/** ComputeStacks' log lines: `[seconds since the epoch, container name, line]`, newest first. */
function renderLogs(app: App, rows: AppLogLine[]) {
  return rows.map((row) => [Date.parse(row.created_at) / 1000, `${app.name}-${row.source}`, row.line]).reverse();
}

/** `{"container_service": {"qty": N}}`: the total containers the service should run (its web processes). */
function quantity(body: unknown): number {
  const qty = rooted(body, 'container_service').qty;
  const n = typeof qty === 'string' && /^\d{1,3}$/.test(qty) ? Number(qty) : qty;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new ValidationFailed({}, ['qty must be a whole number of containers']);
  return n;
}

/**
 * Container services (apps) and their containers: list, show, delete, scale by `qty`, power
 * start/stop/restart and logs (scope `project_read` to read, `project_write` to change).
 */
export function serviceRoutes(app: FastifyInstance, services: AppServices): void {
  const { apps } = services;
  const read = { config: { computestacksScope: 'project_read' as const } };
  const write = { config: { computestacksScope: 'project_write' as const } };

  app.get('/api/container_services', read, async (request, reply) => {
    const result = await apps.apps.list(request.actor, pageRequest(request.query as Record<string, unknown>, {}, 'created_at'));
    paginationHeaders(reply, result);
    return { container_services: await Promise.all(result.items.map((item) => describeService(services, request.actor, item))) };
  });

  app.get<{ Params: { id: string } }>('/api/container_services/:id', read, async (request) => ({
    container_service: await describeService(services, request.actor, await apps.apps.get(request.actor, request.params.id)),
  }));

  app.delete<{ Params: { id: string } }>('/api/container_services/:id', write, async (request, reply) => {
    await apps.apps.remove(request.actor, request.params.id);
    return reply.code(202).send({});
  });

  app.post<{ Params: { id: string } }>('/api/container_services/:id/scale', write, async (request, reply) => {
    const qty = quantity(request.body);
    await apps.formation.scale(request.actor, request.params.id, [{ process_type: 'web', amount: qty }]);
    return reply.code(202).send({});
  });

  // ComputeStacks routes a power action as `PUT .../power/{action}`; its docs also show POST.
  const power = async (request: { actor: Parameters<typeof apps.formation.power>[0]; params: { id: string; action: string } }) => {
    const action = request.params.action;
    if (!(POWER_ACTIONS as readonly string[]).includes(action)) throw new ValidationFailed({}, ['Unknown action.', `Available actions are: ${POWER_ACTIONS.join(', ')}`]);
    if (action === 'restart') await apps.formation.restart(request.actor, request.params.id);
    else await apps.formation.power(request.actor, request.params.id, action as 'start' | 'stop');
  };
  for (const method of ['PUT', 'PATCH', 'POST'] as const) {
    app.route<{ Params: { id: string; action: string } }>({ method, url: '/api/container_services/:id/power/:action', ...write, handler: async (request, reply) => (await power(request), reply.code(202).send({})) });
  }

  app.get<{ Params: { id: string } }>('/api/container_services/:id/containers', read, async (request) => {
    const service = await apps.apps.get(request.actor, request.params.id);
    return { containers: (await apps.formation.containers(request.actor, service.id)).map((row) => renderContainer(service, row)) };
  });

  app.get<{ Params: { id: string } }>('/api/container_services/:id/logs', read, async (request) => {
    const service = await apps.apps.get(request.actor, request.params.id);
    return renderLogs(service, await apps.logs.tail(request.actor, service.id, logLimit(request.query as Record<string, unknown>)));
  });

  app.get<{ Params: { id: string } }>('/api/containers/:id', read, async (request) => {
    const { app: owner, container } = await apps.formation.container(request.actor, request.params.id);
    return { container: renderContainer(apps.apps.toApp(owner), container) };
  });

  app.get<{ Params: { id: string } }>('/api/containers/:id/logs', read, async (request) => {
    const { app: owner, container } = await apps.formation.container(request.actor, request.params.id);
    const source = `${container.process_type}-${container.process_index}`;
    const lines = await apps.logs.tail(request.actor, owner.id, LOG_LIMIT_MAX);
    const limit = logLimit(request.query as Record<string, unknown>);
    return renderLogs(apps.apps.toApp(owner), lines.filter((row) => row.source === source).slice(-limit));
  });

}
