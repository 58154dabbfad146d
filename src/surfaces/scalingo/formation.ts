import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SIZES } from '../../core/apps/plans.ts';
import { NotFound } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import type { Task } from '../../core/tasks/task-service.ts';
import { surfaceUrl } from '../../http/surface.ts';
import type { AppContainerRow, AppFormationRow, TaskStatus } from '../../store/schema.ts';
import { objectList, optionalString } from './input.ts';
import { attachPath } from './runs.ts';

type FormationServices = Pick<CoreServices, 'apps'>;
type AppParams = { Params: { app: string } };

const OPERATION_STATUSES: Record<TaskStatus, 'pending' | 'running' | 'done' | 'error'> = {
  pending: 'pending',
  running: 'running',
  cancelling: 'running',
  succeeded: 'done',
  failed: 'error',
  cancelled: 'error',
};

/** A task on an app as Scalingo's operation: its type without core's `app.` prefix. */
const renderOperation = (task: Task) => ({
  id: task.id,
  created_at: task.createdAt,
  finished_at: task.finishedAt,
  status: OPERATION_STATUSES[task.status],
  type: task.type.replace(/^app\./, ''),
  error: task.error?.message ?? null,
});

const renderFormation = (f: AppFormationRow) => ({ name: f.process_type, amount: f.amount, size: f.size });

/** Sizes in the order of their memory: `ordinal` is the rank clients sort by. */
const SIZE_LIST = Object.entries(SIZES).sort(([, a], [, b]) => a.memoryBytes - b.memoryBytes || a.cpu - b.cpu);

const renderSize = ([name, size]: (typeof SIZE_LIST)[number], ordinal: number) => ({
  id: name,
  name,
  human_name: `${name} (${size.memoryBytes / 1024 ** 2} MiB, ${size.cpu} CPU)`,
  ordinal,
  memory: size.memoryBytes,
  human_cpu: `${size.cpu} CPU`,
});

const renderProcess = (c: AppContainerRow) => ({
  id: c.id,
  app_id: c.app_id,
  type: c.process_type,
  type_index: c.process_index,
  label: `${c.process_type}-${c.process_index}`,
  state: c.state,
  size: c.size,
  created_at: c.created_at,
  deleted_at: null,
});

/**
 * Containers: the formation, the processes (`ps`), scaling and restarting (202 with an absolute
 * `Location` to the operation, which the JS client follows as given), operations, and the sizes.
 */
export function formationRoutes(app: FastifyInstance, services: FormationServices) {
  const { formation, apps } = services.apps;

  // The task names its app by id: the link holds whatever the app is renamed to.
  const accepted = (request: FastifyRequest<AppParams>, reply: FastifyReply, task: Task) =>
    reply.code(202).header('location', surfaceUrl(app, request, `/v1/apps/${String(task.input.app_id)}/operations/${task.id}`));

  app.get<AppParams>('/v1/apps/:app/containers', async (request) => ({ containers: (await formation.get(request.actor, request.params.app)).map(renderFormation) }));

  app.get<AppParams>('/v1/apps/:app/ps', async (request) => ({ containers: (await formation.containers(request.actor, request.params.app)).map(renderProcess) }));

  app.post<AppParams>('/v1/apps/:app/scale', async (request, reply) => {
    const changes = objectList((request.body ?? {}) as Record<string, unknown>, 'containers').map((c) => ({
      process_type: optionalString(c, 'name'),
      amount: typeof c.amount === 'number' ? c.amount : c.amount === undefined ? undefined : Number.NaN,
      size: optionalString(c, 'size'),
    }));
    const { formation: next, task } = await formation.scale(request.actor, request.params.app, changes);
    return accepted(request, reply, task).send({ containers: next.map(renderFormation) });
  });

  app.post<AppParams>('/v1/apps/:app/restart', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const scope = body.scope === undefined || body.scope === null ? [] : body.scope;
    const task = await formation.restart(request.actor, request.params.app, Array.isArray(scope) ? scope.map(String) : [String(scope)]);
    return accepted(request, reply, task).send();
  });

  app.get<{ Params: { app: string; id: string } }>('/v1/apps/:app/operations/:id', async (request) => {
    // Only the app's own tasks are its operations; any other (or none) is not found here.
    const task = await apps.task(request.actor, request.params.app, request.params.id).catch((error) => {
      if (error instanceof NotFound && error.resource === 'task') throw new NotFound('operation');
      throw error;
    });
    // An attached run's operation is done once the run waits for its attachment, at this URL.
    const attachable = task.type === 'app.run' && task.input.attached === true && task.status === 'succeeded';
    const attachUrl = attachable && surfaceUrl(app, request, attachPath(String(task.input.app_id), String(task.input.run_id)));
    return { operation: { ...renderOperation(task), ...(attachUrl ? { start_one_off_data: { attach_url: attachUrl } } : {}) } };
  });

  app.get('/v1/features/container_sizes', async () => ({ container_sizes: SIZE_LIST.map(renderSize) }));
}
