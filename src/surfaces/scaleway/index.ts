import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Principal } from '../../core/actor.ts';
import { NotFound, Unauthenticated } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import type { Authenticator } from '../../http/auth.ts';
import { HttpError } from '../../http/errors.ts';
import type { RequestLimits } from '../../http/rate-limit.ts';
import { accountRoutes } from './account.ts';
import { renderScalewayError } from './errors.ts';
import { productRoutes } from './products.ts';
import { serverRoutes } from './servers.ts';
import { storageRoutes } from './storage.ts';
import { taskRoutes } from './tasks.ts';
import { scalewayValidatorCompiler } from './validation.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent a Scaleway request: known from its token before its body is read. */
    scalewayPrincipal: Principal;
    /** The organization a Scaleway request names (`organization` in its body or query), if any. */
    scalewayOrganization?: string;
  }
}

export interface ScalewaySurfaceOptions {
  services: CoreServices;
  authenticator: Authenticator;
  limits: RequestLimits;
}

/**
 * Scaleway's legacy account and compute API (seed 003) over Nimbus's core: `X-Auth-Token`,
 * rooted bodies, `page`/`per_page` with `X-Total-Count` and `Link`, typed errors. Routes
 * translate; core decides.
 */
export async function scalewaySurface(instance: FastifyInstance, { services, authenticator, limits }: ScalewaySurfaceOptions): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.setValidatorCompiler(scalewayValidatorCompiler);
  app.setErrorHandler(renderScalewayError);
  app.setNotFoundHandler(async (request) => {
    throw new NotFound('route', `The requested URL ${request.url.split('?')[0]} was not found on this server.`);
  });
  acceptJson(app);

  // Who: the token in X-Auth-Token, Scaleway's one credential carrier.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.auth === false) return limits.address(request, reply);
    const token = request.headers['x-auth-token'];
    try {
      if (typeof token !== 'string' || !token.trim()) throw new Unauthenticated("The header 'X-Auth-Token' is missing");
      request.scalewayPrincipal = await authenticator.principalFor({ kind: 'token', value: token.trim() });
    } catch (error) {
      limits.address(request, reply);
      throw error;
    }
  });
  // Where: the organization the body or query names, once the body is read; the token's own otherwise.
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.config.auth === false) return;
    const named = organizationNamed(request);
    request.scalewayOrganization = named;
    const acting = await authenticator.actingContext(request.scalewayPrincipal, named);
    request.actor = { principal: request.scalewayPrincipal, ...acting, requestId: request.id, clientAddress: request.ip };
    limits.credential(request, reply);
  });

  accountRoutes(app, services);
  productRoutes(app);
  serverRoutes(app, services);
  storageRoutes(app, services);
  taskRoutes(app, services.tasks);
}

function organizationNamed(request: FastifyRequest): string | undefined {
  const fromBody = (request.body as { organization?: unknown } | undefined)?.organization;
  const fromQuery = (request.query as { organization?: unknown } | undefined)?.organization;
  const named = typeof fromBody === 'string' ? fromBody : fromQuery;
  return typeof named === 'string' && named !== '' ? named : undefined;
}

/** JSON bodies, an empty one read as none; user data routes add their own raw parser. */
function acceptJson(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new HttpError(400, 'parse_error', `Invalid JSON: ${(error as Error).message}`));
    }
  });
}
