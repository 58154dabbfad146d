import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CoreServices } from '../../core/services.ts';
import { actInOrganization, authenticateActor, type CredentialCarriers } from '../../http/auth.ts';
import { acceptJsonBodiesOnly } from '../../http/conventions/json-body.ts';
import { authenticateWithinLimits, type RequestLimits } from '../../http/rate-limit.ts';
import { useDialect } from '../../http/surface.ts';
import { validatorsOnFirstUse } from '../../http/schema-compilers.ts';
import { accountRoutes } from './account.ts';
import { renderScalewayError } from './errors.ts';
import { productRoutes } from './products.ts';
import { serverRoutes } from './servers.ts';
import { storageRoutes } from './storage.ts';
import { taskRoutes } from './tasks.ts';
import { scalewayValidatorCompiler } from './validation.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The organization a Scaleway request names (`organization` in its body or query), if any. */
    scalewayOrganization?: string;
  }
}

export interface ScalewaySurfaceOptions {
  services: CoreServices;
  limits: RequestLimits;
}

/** Scaleway's one credential carrier: the token in `X-Auth-Token`. */
const SCALEWAY_CARRIERS: CredentialCarriers = { authorization: [], headers: ['x-auth-token'] };

/**
 * Scaleway's legacy account and compute API (seed 003) over Nimbus's core: `X-Auth-Token`,
 * rooted bodies, `page`/`per_page` with `X-Total-Count` and `Link`, typed errors. Routes
 * translate; core decides.
 */
export function scalewaySurface({ services, limits }: ScalewaySurfaceOptions): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    useDialect(instance, { renderError: renderScalewayError });
    acceptJsonBodiesOnly(instance);
    app.setValidatorCompiler(validatorsOnFirstUse(scalewayValidatorCompiler));

    // Who, before the body is read: a request without a valid token is a 401 whatever it carries.
    app.addHook('onRequest', async (request, reply) => {
      if (request.is404 || request.routeOptions.config.auth === false) return limits.address(request, reply);
      await authenticateWithinLimits(limits, request, reply, () => authenticateActor(request, SCALEWAY_CARRIERS, services));
    });
    // Where, once the body is read: the organization it (or the query) names, the token's own otherwise.
    app.addHook('preHandler', async (request) => {
      if (request.is404 || request.routeOptions.config.auth === false) return;
      request.scalewayOrganization = organizationNamed(request);
      if (request.scalewayOrganization) await actInOrganization(request, SCALEWAY_CARRIERS, services, request.scalewayOrganization);
    });

    accountRoutes(app, services);
    productRoutes(app);
    serverRoutes(app, services);
    storageRoutes(app, services);
    taskRoutes(app, services.tasks);
  };
}

function organizationNamed(request: FastifyRequest): string | undefined {
  const fromBody = (request.body as { organization?: unknown } | undefined)?.organization;
  const fromQuery = (request.query as { organization?: unknown } | undefined)?.organization;
  const named = typeof fromBody === 'string' ? fromBody : fromQuery;
  return typeof named === 'string' && named !== '' ? named : undefined;
}
