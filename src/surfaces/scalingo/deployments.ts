import type { FastifyInstance } from 'fastify';
import type { CoreServices } from '../../core/services.ts';
import { surfaceUrl } from '../../http/surface.ts';
import type { AppDeploymentRow } from '../../store/schema.ts';
import { pageRequest, paginated } from './pagination.ts';

type DeploymentParams = { Params: { app: string; id: string } };

/** An app's deployments, newest first, and a deployment's build output as text (what is stored so far). */
export function deploymentRoutes(app: FastifyInstance, { apps }: Pick<CoreServices, 'apps'>) {
  const { deployments } = apps;
  const render = (request: Parameters<typeof surfaceUrl>[1]) => (d: AppDeploymentRow) => ({
    id: d.id,
    app_id: d.app_id,
    created_at: d.created_at,
    finished_at: d.finished_at,
    status: d.status,
    error: d.error,
    image_size: Number(d.archive_bytes),
    stack_base_image: d.stack,
    duration: d.finished_at ? Date.parse(d.finished_at) - Date.parse(d.created_at) : null,
    links: { output: surfaceUrl(app, request, `/v1/apps/${d.app_id}/deployments/${d.id}/output`) },
  });

  app.get<{ Params: { app: string }; Querystring: Record<string, unknown> }>('/v1/apps/:app/deployments', async (request) => {
    const result = await deployments.list(request.actor, request.params.app, pageRequest(request.query));
    return paginated('deployments', result, result.items.map(render(request)));
  });

  app.get<DeploymentParams>('/v1/apps/:app/deployments/:id', async (request) => ({ deployment: render(request)(await deployments.get(request.actor, request.params.app, request.params.id)) }));

  app.get<DeploymentParams>('/v1/apps/:app/deployments/:id/output', async (request, reply) => {
    const reading = new AbortController();
    const batches = await deployments.followOutput(request.actor, request.params.app, request.params.id, { afterSeq: -1, signal: reading.signal, idleMs: 0 });
    let output = '';
    // Stored chunks come in batches; a batch with none (or the last) means all there is now has been read.
    for await (const batch of batches) {
      output += batch.chunks.map((chunk) => chunk.content).join('');
      if (batch.finished || batch.chunks.length === 0) break;
    }
    reading.abort();
    return reply.type('text/plain; charset=utf-8').send(output);
  });
}
