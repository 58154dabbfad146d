import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { CoreServices } from '../../core/services.ts';
import { Unauthenticated } from '../../core/errors.ts';
import { authenticateActor, readBasic, type CredentialCarriers } from '../../http/auth.ts';
import { acceptJsonBodiesOnly } from '../../http/conventions/json-body.ts';
import { authenticateWithinLimits, type RequestLimits } from '../../http/rate-limit.ts';
import { useDialect } from '../../http/surface.ts';
import { oauthSurface } from '../oauth/index.ts';
import { limitBodyArrival } from './body-timeout.ts';
import { renderComputeStacksError } from './errors.ts';
import { catalogRoutes } from './catalog.ts';
import { containerImageRoutes } from './container-images.ts';
import { orderRoutes } from './orders.ts';
import { profileRoutes } from './profile.ts';
import { projectRoutes } from './projects.ts';
import { serviceRoutes } from './services.ts';
import { assertScope, requireDeclaredScopes } from './scopes.ts';
import { versionRoutes } from './version.ts';
import { negotiateVersion } from './versions.ts';
import { zoneRoutes } from './zones.ts';

export interface ComputeStacksSurfaceOptions {
  services: CoreServices;
  limits: RequestLimits;
  /** How long a request body may take to arrive before the request is answered 408. */
  bodyTimeoutMs: number;
}

/** HTTP Basic with an API credential pair, or an OAuth bearer token. */
const COMPUTESTACKS_CARRIERS: CredentialCarriers = { authorization: ['basic', 'bearer'], headers: [] };

/** Basic carries an API credential pair here, never a token under an empty user name. */
async function authenticate(request: FastifyRequest, services: CoreServices): Promise<void> {
  if (readBasic(request.headers.authorization?.trim() ?? '')?.username === '') throw new Unauthenticated('Invalid username/password.', 'authentication_failed');
  await authenticateActor(request, COMPUTESTACKS_CARRIERS, services);
}

/**
 * ComputeStacks' user API (`/api/...`): `{"errors": [...]}` bodies, its API versions, its
 * pagination headers, Basic with API credentials or OAuth 2 tokens from Nimbus's authorization
 * server (served here at `/api/oauth/...` too) checked against ComputeStacks' scopes per route.
 */
export function computestacksSurface({ services, limits, bodyTimeoutMs }: ComputeStacksSurfaceOptions): FastifyPluginAsync {
  return async (app) => {
    useDialect(app, { renderError: renderComputeStacksError });
    acceptJsonBodiesOnly(app);
    limitBodyArrival(app, bodyTimeoutMs);
    await app.register(oauthSurface, { oauth: services.oauth, limits });
    await app.register(apiRoutes, { services, limits });
  };
}

async function apiRoutes(app: FastifyInstance, { services, limits }: Pick<ComputeStacksSurfaceOptions, 'services' | 'limits'>): Promise<void> {
  requireDeclaredScopes(app);
  app.addHook('onRequest', async (request, reply) => {
    negotiateVersion(request, reply);
    if (request.routeOptions.config.auth === false) return limits.address(request, reply);
    await authenticateWithinLimits(limits, request, reply, () => authenticate(request, services));
    assertScope(request.actor, request.routeOptions.config.computestacksScope!);
  });
  versionRoutes(app);
  profileRoutes(app, services);
  zoneRoutes(app, services);
  projectRoutes(app, services);
  serviceRoutes(app, services);
  catalogRoutes(app, services);
  orderRoutes(app, services);
  containerImageRoutes(app, services);
}
