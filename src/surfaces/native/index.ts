import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CoreServices } from '../../core/services.ts';
import { addEntityTags } from '../../http/conventions/etag.ts';
import { honourIdempotencyKeys } from '../../http/conventions/idempotency.ts';
import { acceptJsonBodiesOnly } from '../../http/conventions/json-body.ts';
import { authenticateWithinLimits, type RequestLimits } from '../../http/rate-limit.ts';
import { useDialect } from '../../http/surface.ts';
import { oauthSurface } from '../oauth/index.ts';
import { negotiateApiVersion } from './api-version.ts';
import { appRoutes } from './apps/apps.ts';
import { appCollaboratorRoutes } from './apps/collaborators.ts';
import { appDomainRoutes } from './apps/domains.ts';
import { appReleaseRoutes } from './apps/releases.ts';
import { appRunRoutes } from './apps/runs.ts';
import { catalogRoutes } from './catalog/catalog.ts';
import { orderRoutes } from './orders/orders.ts';
import { projectRoutes } from './projects/projects.ts';
import { auditRoutes } from './audit/activity.ts';
import { authenticateRequest } from './authentication.ts';
import { apiKeyRoutes } from './auth/api-key.ts';
import { credentialRoutes } from './auth/credentials.ts';
import { sessionRoutes } from './auth/session.ts';
import { tokenRoutes } from './auth/tokens.ts';
import { imageRoutes } from './compute/images.ts';
import { imageTemplateRoutes } from './compute/image-templates.ts';
import { planRoutes } from './compute/plans.ts';
import { serverRoutes } from './compute/servers.ts';
import { serverExtraRoutes } from './compute/server-extras.ts';
import { storageRoutes } from './compute/volumes.ts';
import { renderNativeError } from './errors.ts';
import { dnsRoutes } from './dns/zones.ts';
import { eventChannelRoutes } from './events/channels.ts';
import { commandRoutes } from './events/commands.ts';
import { eventRoutes } from './events/events.ts';
import { environmentRoutes } from './iam/environments.ts';
import { groupRoutes } from './iam/groups.ts';
import { membershipRoutes } from './iam/memberships.ts';
import { organizationRoutes } from './iam/organizations.ts';
import { quotaRoutes } from './iam/quotas.ts';
import { roleRoutes } from './iam/roles.ts';
import { userRoutes } from './iam/users.ts';
import { oauthApplicationRoutes } from './oauth/applications.ts';
import { oauthAuthorizationRoutes } from './oauth/authorizations.ts';
import { oauthSettingsRoutes } from './oauth/settings.ts';
import { addOpenApi } from './openapi.ts';
import { statusRoutes } from './status.ts';
import { taskRoutes } from './tasks/tasks.ts';
import { webshRoutes } from './websh/sessions.ts';
import { webftpLogRoutes } from './webftp/logs.ts';
import { webftpRoutes } from './webftp/transfers.ts';
import { tokenAclRoutes } from './security/token-acls.ts';

export interface NativeSurfaceOptions {
  services: CoreServices;
  limits: RequestLimits;
  /** Largest image archive accepted by upload, in bytes. */
  imageUploadLimit: number;
  /** Largest app source archive a deployment accepts, in bytes. */
  appSourceLimit: number;
}

/** DRF's answer to OPTIONS: what the path renders, parses and allows. */
const drfOptions = (request: FastifyRequest, allow: string[]) => ({ name: request.url.split('?')[0], renders: ['application/json'], parses: ['application/json'], allow });

/**
 * The native API, Alpacon's conventions and a superset of its API: `/api/...`, its OpenAPI
 * document and, at their standard paths inside its namespace, the OAuth authorization
 * server's endpoints (an encapsulated child with its own form bodies and RFC 6749 errors).
 */
export function nativeSurface(options: NativeSurfaceOptions): FastifyPluginAsync {
  return async (app) => {
    useDialect(app, { renderError: renderNativeError, optionsBody: drfOptions, allowOnEveryResponse: true });
    acceptJsonBodiesOnly(app);
    addEntityTags(app);
    // Answers under /api/ depend on the api_version the Accept header asks for.
    app.addHook('onRequest', (request, reply, done) => {
      if (request.url.startsWith('/api/')) reply.header('vary', 'Accept');
      done();
    });
    await addOpenApi(app);
    await app.register(oauthSurface, { oauth: options.services.oauth, limits: options.limits });
    await app.register(apiRoutes, options);
  };
}

async function apiRoutes(instance: FastifyInstance, { services, limits, imageUploadLimit, appSourceLimit }: NativeSurfaceOptions): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.addHook('onRequest', async (request, reply) => {
    negotiateApiVersion(request);
    if (request.routeOptions.config.auth === false) return limits.address(request, reply);
    await authenticateWithinLimits(limits, request, reply, () => authenticateRequest(request, services));
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
  environmentRoutes(app, services);
  sessionRoutes(app, services);
  tokenRoutes(app, services);
  credentialRoutes(app, services);
  apiKeyRoutes(app, services);
  auditRoutes(app, services);
  oauthApplicationRoutes(app, services.oauth.applications);
  oauthAuthorizationRoutes(app, services.oauth.authorizations);
  oauthSettingsRoutes(app, services.oauth.settings);
  taskRoutes(app, services.tasks);
  eventRoutes(app, services.events);
  commandRoutes(app, services.commands);
  eventChannelRoutes(app, services.outputChannels);
  webshRoutes(app, services.websh);
  webftpRoutes(app, services.transfers);
  webftpLogRoutes(app, services.transfers);
  tokenAclRoutes(app, services);
  imageRoutes(app, services, { uploadLimit: imageUploadLimit });
  imageTemplateRoutes(app, services.imageTemplates);
  planRoutes(app);
  serverRoutes(app, services);
  serverExtraRoutes(app, services);
  storageRoutes(app, services);
  dnsRoutes(app, services);
  appRoutes(app, services.apps);
  appReleaseRoutes(app, services.apps, { sourceLimit: appSourceLimit });
  appRunRoutes(app, services.apps);
  appDomainRoutes(app, services.apps);
  appCollaboratorRoutes(app, services.apps);
  projectRoutes(app, services.projects);
  catalogRoutes(app, services.catalog);
  orderRoutes(app, services.orders);
}
