import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CoreServices } from '../../core/services.ts';
import { authenticateRequest, type Authenticator, type Credential } from '../../http/auth.ts';
import { trackAllowedMethods } from '../../http/conventions/allowed-methods.ts';
import type { RequestLimits } from '../../http/rate-limit.ts';
import { administrationRoutes } from './administration.ts';
import { computeRoutes } from './compute.ts';
import { renderCloudmcError } from './errors.ts';
import { single } from './replies.ts';
import { taskRoutes } from './tasks.ts';

export interface CloudmcSurfaceOptions {
  services: CoreServices;
  authenticator: Authenticator;
  limits: RequestLimits;
}

/** CloudMC's one credential carrier: the user's API key in `MC-Api-Key`. */
function readApiKey(headers: FastifyRequest['headers']): Credential | null {
  const key = headers['mc-api-key'];
  return typeof key === 'string' && key.trim() ? { kind: 'token', value: key.trim() } : null;
}

/**
 * CloudMC's API v2 (`/api/v2/...`): its envelopes, error codes, task shapes and field names,
 * over core's services. An encapsulated plugin: its error bodies, OPTIONS answers and
 * credential carrier stay inside it.
 */
export async function cloudmcSurface(instance: FastifyInstance, { services, authenticator, limits }: CloudmcSurfaceOptions): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  instance.setErrorHandler(renderCloudmcError);
  instance.setNotFoundHandler(trackAllowedMethods(instance, (_path, allow) => single({ allow })));
  app.addHook('onRequest', async (request, reply) => {
    // Unknown endpoints and wrong verbs answer as such, key or not.
    if (request.is404) return limits.address(request, reply);
    try {
      await authenticateRequest(request, authenticator, readApiKey);
    } catch (error) {
      limits.address(request, reply);
      throw error;
    }
    limits.credential(request, reply);
  });
  administrationRoutes(app, services);
  computeRoutes(app, services);
  taskRoutes(app, services);
}
