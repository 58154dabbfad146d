import type { FastifyInstance } from 'fastify';
import type { Collaborator } from '../../core/apps/collaborator-service.ts';
import { ValidationFailed } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import { surfaceUrl } from '../../http/surface.ts';
import { appRenderer } from './apps.ts';
import { rooted } from './errors.ts';
import { optionalBoolean, optionalString } from './input.ts';

type AppParams = { Params: { app: string } };
type CollaboratorParams = { Params: { app: string; id: string } };

const renderCollaborator = (c: Collaborator) => ({
  id: c.id,
  app_id: c.app_id,
  username: c.username ?? '',
  email: c.email,
  status: c.status,
  user_id: c.user_id ?? '',
  is_limited: false,
});

/**
 * Collaborators of an app, invited by email by the app's organization; the invitation's
 * `invitation_link` is where the invited user, signed in with that address, accepts it
 * (`GET /v1/apps/collaboration?token=`), from then on reaching that app.
 */
export function collaboratorRoutes(app: FastifyInstance, services: Pick<CoreServices, 'apps' | 'organizations'>, region: string) {
  const { collaborators } = services.apps;
  const renderApp = appRenderer(services, region);

  app.get<AppParams>('/v1/apps/:app/collaborators', async (request) => ({ collaborators: (await collaborators.list(request.actor, request.params.app)).map(renderCollaborator) }));

  app.post<AppParams>('/v1/apps/:app/collaborators', async (request, reply) => {
    const body = rooted(request.body, 'collaborator');
    // Limited collaborators (Scalingo's `is_limited`) are not offered: asking for one is a 422, never ignored.
    if (optionalBoolean(body, 'is_limited') === true) throw ValidationFailed.field('is_limited', 'is not offered: a collaborator reaches the whole app');
    const { collaborator, token } = await collaborators.invite(request.actor, request.params.app, { email: optionalString(body, 'email') });
    const invitationLink = surfaceUrl(app, request, `/v1/apps/collaboration?token=${encodeURIComponent(token)}`);
    return reply.code(201).send({ collaborator: { ...renderCollaborator(collaborator), invitation_link: invitationLink } });
  });

  app.delete<CollaboratorParams>('/v1/apps/:app/collaborators/:id', async (request, reply) => {
    await collaborators.remove(request.actor, request.params.app, request.params.id);
    return reply.code(204).send();
  });

  app.get<{ Querystring: { token?: string } }>('/v1/apps/collaboration', async (request) => {
    const { app: joined } = await collaborators.accept(request.actor, { token: request.query.token });
    return { app: (await renderApp(request, [await services.apps.apps.get(request.actor, joined.id)]))[0] };
  });
}
