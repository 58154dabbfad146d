import type { FastifyInstance } from 'fastify';
import type { Actor } from '../../core/actor.ts';
import { NotFound, ValidationFailed } from '../../core/errors.ts';
import type { Event } from '../../core/events/event-service.ts';
import type { CoreServices } from '../../core/services.ts';
import { pageRequest, paginated } from './pagination.ts';
import { userLookup } from './users.ts';

type EventServices = Pick<CoreServices, 'apps' | 'events' | 'users'>;

/** `from`: events of the last 1 to 72 hours. */
const FROM_HOURS = { min: 1, max: 72 };

/** `?from=` as a `created_after` filter; a bad value is a 422. */
function fromFilter(query: Record<string, unknown>): Record<string, string> {
  if (query.from === undefined || query.from === '') return {};
  const hours = Number(query.from);
  if (!Number.isInteger(hours) || hours < FROM_HOURS.min || hours > FROM_HOURS.max) throw ValidationFailed.field('from', `must be a number of hours from ${FROM_HOURS.min} to ${FROM_HOURS.max}`);
  return { created_after: new Date(Date.now() - hours * 3_600_000).toISOString() };
}

/**
 * App events as Scalingo shows them: core records them as `app.<Scalingo's type>` with the
 * app's name in their data. The user is who did it, when the caller may see that user.
 */
function eventRenderer(users: EventServices['users']) {
  return async (actor: Actor, events: Event[]) => {
    const userOf = userLookup(users, actor);
    return Promise.all(
      events.map(async (event) => {
        const { app_name: appName, ...typeData } = (event.data ?? {}) as Record<string, unknown>;
        return {
          id: String(event.id),
          created_at: event.createdAt,
          user: await userOf(event.actor),
          app_id: event.resourceId,
          app_name: appName ?? null,
          type: event.type.replace(/^app\./, ''),
          type_data: typeData,
        };
      }),
    );
  };
}

/** Events of one app, and of every app the caller sees (`/v1/events`), newest first, paginated. */
export function eventRoutes(app: FastifyInstance, services: EventServices) {
  const render = eventRenderer(services.users);
  const { events } = services;

  app.get<{ Params: { app: string }; Querystring: Record<string, unknown> }>('/v1/apps/:app/events', async (request) => {
    const found = await services.apps.apps.get(request.actor, request.params.app);
    const result = await events.list(request.actor, pageRequest(request.query, { resource: `app:${found.id}`, type: 'app.*', ...fromFilter(request.query) }));
    return paginated('events', result, await render(request.actor, result.items));
  });

  app.get<{ Params: { app: string; id: string } }>('/v1/apps/:app/events/:id', async (request) => {
    const found = await services.apps.apps.get(request.actor, request.params.app);
    const { items } = await events.list(request.actor, { filters: { resource: `app:${found.id}`, type: 'app.*', id: request.params.id }, pagination: { style: 'page', page: 1, pageSize: 1 } });
    if (!items.length) throw new NotFound('event');
    return { event: (await render(request.actor, items))[0] };
  });

  app.get<{ Querystring: Record<string, unknown> }>('/v1/events', async (request) => {
    const result = await events.list(request.actor, pageRequest(request.query, { type: 'app.*', ...fromFilter(request.query) }));
    return paginated('events', result, await render(request.actor, result.items));
  });
}
