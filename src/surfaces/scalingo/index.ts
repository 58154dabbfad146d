import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { CoreServices } from '../../core/services.ts';
import { authenticateActor, type CredentialCarriers } from '../../http/auth.ts';
import { acceptJsonBodiesOnly } from '../../http/conventions/json-body.ts';
import { authenticateWithinLimits, type RequestLimits } from '../../http/rate-limit.ts';
import { useDialect } from '../../http/surface.ts';
import { appRoutes } from './apps.ts';
import { authRoutes } from './auth.ts';
import { collaboratorRoutes } from './collaborators.ts';
import { deploymentStreamRoutes } from './deployment-stream.ts';
import { deploymentRoutes } from './deployments.ts';
import { domainRoutes } from './domains.ts';
import { renderScalingoError } from './errors.ts';
import { assertSecureTransport } from './transport.ts';
import { eventRoutes } from './events.ts';
import { formationRoutes } from './formation.ts';
import { logRoutes } from './logs.ts';
import { runRoutes } from './runs.ts';
import { sourceRoutes } from './sources.ts';
import { variableRoutes } from './variables.ts';

export interface ScalingoSurfaceOptions {
  services: CoreServices;
  limits: RequestLimits;
  /** The region `GET /v1/regions` names. */
  region: string;
  /** Largest source archive an upload takes (`NIMBUS_APP_SOURCE_LIMIT`). */
  sourceLimit: number;
  /** Nimbus has a certificate: credentials travel over HTTPS only (or from this machine). */
  httpsOnly: boolean;
}

/**
 * Scalingo's carriers: `Authorization: Bearer` (the exchanged JWT, or an API token) and Basic
 * with the token as the password (the user name may be empty).
 */
const SCALINGO_CARRIERS: CredentialCarriers = { authorization: ['bearer', 'basic'], headers: [] };

/**
 * Scalingo's API v1 and its authentication API (`/v1/...`), one surface: rooted JSON,
 * Scalingo's error bodies and statuses, over core's services.
 */
export function scalingoSurface({ services, limits, region, sourceLimit, httpsOnly }: ScalingoSurfaceOptions): FastifyPluginAsync {
  return async (app) => {
    useDialect(app, { renderError: renderScalingoError });
    acceptJsonBodiesOnly(app);
    const authenticate = async (request: FastifyRequest) => authenticateActor(request, SCALINGO_CARRIERS, services);
    app.addHook('onRequest', async (request, reply) => {
      if (httpsOnly) assertSecureTransport(request);
      // Unknown endpoints and wrong verbs answer as such, credential or not; public routes are limited by address.
      if (request.is404 || request.routeOptions.config.auth === false) return limits.address(request, reply);
      await authenticateWithinLimits(limits, request, reply, () => authenticate(request));
    });
    authRoutes(app, services, { region, authenticate });
    appRoutes(app, services, region);
    formationRoutes(app, services);
    variableRoutes(app, services);
    eventRoutes(app, services);
    sourceRoutes(app, services, { sourceLimit });
    deploymentRoutes(app, services);
    deploymentStreamRoutes(app, services, { authenticate, httpsOnly });
    logRoutes(app, services, region);
    runRoutes(app, services, region);
    domainRoutes(app, services);
    collaboratorRoutes(app, services, region);
  };
}
