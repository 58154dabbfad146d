import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ValidationFailed } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import { surfaceUrl } from '../../http/surface.ts';
import type { AppDeploymentRow } from '../../store/schema.ts';
import { rooted } from './errors.ts';
import { optionalString } from './input.ts';
import { pageRequest, paginated } from './pagination.ts';
import { ownSource } from './sources.ts';
import { userLookup } from './users.ts';

type DeploymentServices = Pick<CoreServices, 'apps' | 'users'>;
type AppParams = { Params: { app: string } };
type DeploymentParams = { Params: { app: string; id: string } };

/** A deployment as Scalingo shows it, with its pusher and the link to its output. */
export function deploymentRenderer(services: Pick<CoreServices, 'users'>, request: FastifyRequest) {
  const pusherOf = userLookup(services.users, request.actor);
  return async (d: AppDeploymentRow) => ({
    id: d.id,
    app_id: d.app_id,
    created_at: d.created_at,
    finished_at: d.finished_at,
    status: d.status,
    error: d.error,
    git_ref: d.git_ref,
    pusher: await pusherOf(d.requested_by),
    image_size: Number(d.archive_bytes),
    stack_base_image: d.stack,
    duration: d.finished_at ? Date.parse(d.finished_at) - Date.parse(d.created_at) : null,
    links: { output: surfaceUrl(request.server, request, `/v1/apps/${d.app_id}/deployments/${d.id}/output`) },
  });
}

/**
 * An app's deployments: made from a `source_url` (a source's download URL, as `scalingo deploy`
 * sends it; 201 with the queued deployment), listed newest first, shown, and a deployment's build
 * output as text (what is stored so far).
 */
export function deploymentRoutes(app: FastifyInstance, services: DeploymentServices) {
  const { deployments, sources } = services.apps;

  const renderer = (request: FastifyRequest) => deploymentRenderer(services, request);

  app.post<AppParams>('/v1/apps/:app/deployments', async (request, reply) => {
    const body = rooted(request.body, 'deployment');
    const sourceUrl = optionalString(body, 'source_url');
    const gitRef = optionalString(body, 'git_ref');
    // The source is read once the app is found: another organization's app is a 404 whatever the body.
    const copySource = async (file: string) => {
      if (sourceUrl === undefined) throw ValidationFailed.field('source_url', 'missing field');
      const source = ownSource(sourceUrl);
      // Any other URL is refused, not fetched: a deployment must never make Nimbus reach into its own network.
      if (!source) throw ValidationFailed.field('source_url', 'must be a download_url given by POST /v1/sources: other URLs are not fetched');
      sources.copyTo(request.actor, source, file, 'source_url');
    };
    const { deployment } = await deployments.create(request.actor, request.params.app, copySource, { gitRef });
    return reply.code(201).send({ deployment: await renderer(request)(deployment) });
  });

  app.get<{ Params: { app: string }; Querystring: Record<string, unknown> }>('/v1/apps/:app/deployments', async (request) => {
    const result = await deployments.list(request.actor, request.params.app, pageRequest(request.query));
    return paginated('deployments', result, await Promise.all(result.items.map(renderer(request))));
  });

  app.get<DeploymentParams>('/v1/apps/:app/deployments/:id', async (request) => ({ deployment: await renderer(request)(await deployments.get(request.actor, request.params.app, request.params.id)) }));

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
