import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CoreServices } from '../../core/services.ts';
import { negotiateApiVersion } from '../../http/conventions/api-version.ts';
import { authenticateRequest, type Authenticator } from '../../http/auth.ts';
import type { RequestLimits } from '../../http/rate-limit.ts';
import { honourIdempotencyKeys } from '../../http/conventions/idempotency.ts';
import { appRoutes } from './apps/apps.ts';
import { appReleaseRoutes } from './apps/releases.ts';
import { auditRoutes } from './audit/activity.ts';
import { credentialRoutes } from './auth/credentials.ts';
import { sessionRoutes } from './auth/session.ts';
import { tokenRoutes } from './auth/tokens.ts';
import { imageRoutes } from './compute/images.ts';
import { serverRoutes } from './compute/servers.ts';
import { storageRoutes } from './compute/volumes.ts';
import { commandRoutes } from './events/commands.ts';
import { eventRoutes } from './events/events.ts';
import { groupRoutes } from './iam/groups.ts';
import { membershipRoutes } from './iam/memberships.ts';
import { organizationRoutes } from './iam/organizations.ts';
import { quotaRoutes } from './iam/quotas.ts';
import { roleRoutes } from './iam/roles.ts';
import { userRoutes } from './iam/users.ts';
import { oauthApplicationRoutes } from './oauth/applications.ts';
import { oauthAuthorizationRoutes } from './oauth/authorizations.ts';
import { oauthSettingsRoutes } from './oauth/settings.ts';
import { statusRoutes } from './status.ts';
import { taskRoutes } from './tasks/tasks.ts';

export interface NativeSurfaceOptions {
  services: CoreServices;
  authenticator: Authenticator;
  limits: RequestLimits;
  /** Largest image archive accepted by upload, in bytes. */
  imageUploadLimit: number;
  /** Largest app source archive a deployment accepts, in bytes. */
  appSourceLimit: number;
}

/** The native API under `/api/`: Alpacon's conventions, a superset of its API. */
export async function nativeSurface(instance: FastifyInstance, { services, authenticator, limits, imageUploadLimit, appSourceLimit }: NativeSurfaceOptions): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', async (request, reply) => {
    negotiateApiVersion(request);
    if (request.routeOptions.config.auth === false) return limits.address(request, reply);
    try {
      await authenticateRequest(request, authenticator);
    } catch (error) {
      // Failed authentications count against the client's address.
      limits.address(request, reply);
      throw error;
    }
    limits.credential(request, reply);
  });
  honourIdempotencyKeys(instance, services.idempotency);
  app.get('/api/schema/', { config: { auth: false }, schema: { hide: true } }, async () => instance.swagger());
  statusRoutes(app);
  organizationRoutes(app, services.organizations);
  quotaRoutes(app, services);
  userRoutes(app, services);
  groupRoutes(app, services);
  membershipRoutes(app, services);
  roleRoutes(app, services);
  sessionRoutes(app, services);
  tokenRoutes(app, services);
  credentialRoutes(app, services);
  auditRoutes(app, services);
  oauthApplicationRoutes(app, services.oauth.applications);
  oauthAuthorizationRoutes(app, services.oauth.authorizations);
  oauthSettingsRoutes(app, services.oauth.settings);
  taskRoutes(app, services.tasks);
  eventRoutes(app, services.events);
  commandRoutes(app, services.commands);
  imageRoutes(app, services, { uploadLimit: imageUploadLimit });
  serverRoutes(app, services);
  storageRoutes(app, services);
  appRoutes(app, services.apps);
  appReleaseRoutes(app, services.apps, { sourceLimit: appSourceLimit });
}
