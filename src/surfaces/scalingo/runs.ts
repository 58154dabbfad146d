import type { FastifyInstance } from 'fastify';
import { ValidationFailed } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import { surfaceUrl } from '../../http/surface.ts';
import type { AppRunRow } from '../../store/schema.ts';
import { appRenderer } from './apps.ts';
import { optionalBoolean, optionalString } from './input.ts';

type RunParams = { Params: { app: string } };

/** A run's status as a container's state. */
const STATES: Record<AppRunRow['status'], string> = { queued: 'booting', running: 'running', succeeded: 'stopped', failed: 'crashed' };

/**
 * One-off runs: `POST /v1/apps/:app/run` `{command, size, env, detached: true}` runs the command
 * once in a container of its own with the app's current release (and `env`, variables of this run
 * alone, over the app's), and answers with that container and the operation (`operation_url`)
 * that ends with it. Runs are detached only: Nimbus keeps a run's
 * output and exit code, but does not attach a terminal to it, so there is no `attach_url`.
 */
export function runRoutes(app: FastifyInstance, services: Pick<CoreServices, 'apps' | 'organizations'>, region: string) {
  const { runs, apps } = services.apps;
  const renderApp = appRenderer(services, region);

  app.post<RunParams>('/v1/apps/:app/run', async (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const command = optionalString(body, 'command');
    const size = optionalString(body, 'size');
    const detached = optionalBoolean(body, 'detached');
    const env = body.env === null ? undefined : (body.env as Record<string, string> | undefined);
    const found = await apps.get(request.actor, request.params.app);
    if (detached !== true) throw ValidationFailed.field('detached', 'must be true: one-off runs are detached here (their output is kept with the run), no terminal is attached');
    const { run, task } = await runs.create(request.actor, found.id, { command, size, env });
    return {
      container: {
        id: run.id,
        app_id: run.app_id,
        created_at: run.created_at,
        deleted_at: run.finished_at,
        command: run.command,
        type: 'one-off',
        type_index: 0,
        label: 'one-off',
        state: STATES[run.status],
        size: run.size,
        container_size: { id: run.size, name: run.size },
        app: (await renderApp(request, [found]))[0],
      },
      operation_url: surfaceUrl(app, request, `/v1/apps/${run.app_id}/operations/${task.id}`),
    };
  });
}
