import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CoreServices } from '../../core/services.ts';
import { negotiateApiVersion } from '../../http/conventions/api-version.ts';
import { authenticateRequest, type Authenticator } from '../../http/auth.ts';
import { honourIdempotencyKeys } from '../../http/conventions/idempotency.ts';
import { eventRoutes } from './events/events.ts';
import { organizationRoutes } from './iam/organizations.ts';
import { oauthApplicationRoutes } from './oauth/applications.ts';
import { oauthAuthorizationRoutes } from './oauth/authorizations.ts';
import { statusRoutes } from './status.ts';
import { taskRoutes } from './tasks/tasks.ts';

export interface NativeSurfaceOptions {
  services: CoreServices;
  authenticator: Authenticator;
}

/** The native API under `/api/`: Alpacon's conventions, a superset of its API. */
export async function nativeSurface(instance: FastifyInstance, { services, authenticator }: NativeSurfaceOptions): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', async (request) => {
    negotiateApiVersion(request);
    if (request.routeOptions.config.auth !== false) await authenticateRequest(request, authenticator);
  });
  honourIdempotencyKeys(instance, services.idempotency);
  app.get('/api/schema/', { config: { auth: false }, schema: { hide: true } }, async () => instance.swagger());
  statusRoutes(app);
  organizationRoutes(app, services.organizations);
  oauthApplicationRoutes(app, services.oauth.applications);
  oauthAuthorizationRoutes(app, services.oauth.authorizations);
  taskRoutes(app, services.tasks);
  eventRoutes(app, services.events);
}
