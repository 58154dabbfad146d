import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../../core/apps/app-service.ts';
import { STACKS, DEFAULT_STACK } from '../../core/apps/rules.ts';
import { ValidationFailed } from '../../core/errors.ts';
import { everything } from '../../core/listing.ts';
import type { CoreServices } from '../../core/services.ts';
import { withFieldNames } from '../../http/field-names.ts';
import { surfaceUrl } from '../../http/surface.ts';
import { deploymentStreamPath } from './deployment-stream.ts';
import { socketUrl } from './sockets.ts';
import { rooted } from './errors.ts';
import { optionalBoolean, optionalString, requiredQuery } from './input.ts';

type AppsServices = Pick<CoreServices, 'apps' | 'organizations'>;
type AppParams = { Params: { app: string } };

/** Core's app fields under Scalingo's names. */
const FIELDS = { stack: 'stack_id', organization_id: 'owner' };

/** Core's statuses Scalingo has no word for. */
const STATUSES: Record<string, string> = { building: 'booting', deleting: 'stopped' };

/**
 * Apps as Scalingo shows them. The owner is the app's organization (Nimbus apps belong to
 * organizations, not to people): its id, and its slug as the user name. `links.deployments_stream`
 * is the WebSocket that follows the app's deployments (deployment-stream.ts).
 */
export function appRenderer(services: AppsServices, region: string) {
  return async (request: FastifyRequest, apps: App[]) => {
    const { actor } = request;
    const owners = new Map<string, Promise<{ id: string; username: string; email: null }>>();
    const ownerOf = (id: string) => {
      if (!owners.has(id)) owners.set(id, services.organizations.get(actor, id).then((o) => ({ id: o.id, username: o.slug, email: null }), () => ({ id, username: id, email: null })));
      return owners.get(id)!;
    };
    return Promise.all(
      apps.map(async (app) => ({
        id: app.id,
        uuid: app.id,
        name: app.name,
        region,
        created_at: app.created_at,
        updated_at: app.updated_at,
        owner: await ownerOf(app.organization_id),
        url: app.web_url,
        base_url: app.web_url,
        status: STATUSES[app.status] ?? app.status,
        last_deployed_at: app.last_deployed_at,
        stack_id: app.stack,
        force_https: app.force_https,
        links: { deployments_stream: socketUrl(surfaceUrl(request.server, request, deploymentStreamPath(app.id))) },
      })),
    );
  };
}

/**
 * `/v1/apps`: create (`X-Dry-Run: true` checks only), list, show by name or id, settings
 * (PATCH or PUT; `owner` transfers to another organization of the subtree), rename, delete with
 * `current_name`; and the stacks builds run on.
 */
export function appRoutes(app: FastifyInstance, services: AppsServices, region: string) {
  const { apps } = services.apps;
  const render = appRenderer(services, region);
  const one = async (request: FastifyRequest, found: App) => ({ app: (await render(request, [found]))[0] });

  app.post('/v1/apps', async (request, reply) => {
    const body = rooted(request.body, 'app');
    const input = { name: optionalString(body, 'name'), stack: optionalString(body, 'stack_id'), force_https: optionalBoolean(body, 'force_https') };
    const dryRun = String(request.headers['x-dry-run'] ?? '').toLowerCase() === 'true';
    const created = await withFieldNames(FIELDS, () => apps.create(request.actor, input, { dryRun }));
    return reply.code(dryRun ? 200 : 201).send(await one(request, created));
  });

  app.get('/v1/apps', async (request) => ({ apps: await render(request, await everything(apps.list, request.actor)) }));

  app.get<AppParams>('/v1/apps/:app', async (request) => one(request, await apps.get(request.actor, request.params.app)));

  const settings = async (request: FastifyRequest<AppParams>) => {
    const body = rooted(request.body, 'app');
    const owner = optionalString(body, 'owner');
    const stack = optionalString(body, 'stack_id');
    const forceHttps = optionalBoolean(body, 'force_https');
    return withFieldNames(FIELDS, async () => {
      let changed = owner === undefined ? await apps.get(request.actor, request.params.app) : await apps.transfer(request.actor, request.params.app, { organization_id: owner });
      if (stack !== undefined || forceHttps !== undefined) changed = await apps.update(request.actor, changed.id, { stack, force_https: forceHttps });
      return one(request, changed);
    });
  };
  app.patch<AppParams>('/v1/apps/:app', settings);
  app.put<AppParams>('/v1/apps/:app', settings);

  app.post<AppParams>('/v1/apps/:app/rename', async (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const input = { current_name: optionalString(body, 'current_name'), new_name: optionalString(body, 'new_name') };
    if (input.current_name === undefined) throw ValidationFailed.field('current_name', 'missing field');
    return one(request, await apps.rename(request.actor, request.params.app, input));
  });

  app.delete<AppParams>('/v1/apps/:app', async (request, reply) => {
    const currentName = requiredQuery(request.query, 'current_name');
    await apps.remove(request.actor, request.params.app, { currentName });
    return reply.code(204).send();
  });

  app.get('/v1/features/stacks', async () => ({
    stacks: STACKS.map((stack) => ({ id: stack, name: stack, description: STACK_DESCRIPTIONS[stack], default: stack === DEFAULT_STACK })),
  }));
}

const STACK_DESCRIPTIONS: Record<(typeof STACKS)[number], string> = {
  nodejs: 'Node.js: package.json is installed and built; the Procfile, or the start script, runs it.',
  procfile: 'The Procfile runs the source as it is.',
};
