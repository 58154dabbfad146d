import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { CoreServices } from '../../core/services.ts';
import { authenticateActor, requestedOrganization, type CredentialCarriers } from '../../http/auth.ts';
import { acceptJsonBodiesOnly } from '../../http/conventions/json-body.ts';
import { authenticateWithinLimits, type RequestLimits } from '../../http/rate-limit.ts';
import { useDialect } from '../../http/surface.ts';
import { administrationRoutes } from './administration.ts';
import { computeRoutes } from './compute.ts';
import { renderCloudmcError } from './errors.ts';
import { single } from './replies.ts';
import { taskRoutes } from './tasks.ts';

export interface CloudmcSurfaceOptions {
  services: CoreServices;
  limits: RequestLimits;
}

/** CloudMC's one credential carrier: the user's API key in `MC-Api-Key`. */
const CLOUDMC_CARRIERS: CredentialCarriers = { authorization: [], headers: ['mc-api-key'] };

/**
 * CloudMC's API v2 (`/api/v2/...`): its envelopes, error codes, task shapes and field names,
 * over core's services. An encapsulated plugin: its error bodies, OPTIONS answers and
 * credential carrier stay inside it.
 */
export function cloudmcSurface({ services, limits }: CloudmcSurfaceOptions): FastifyPluginAsync {
  return async (instance) => {
    const app = instance.withTypeProvider<TypeBoxTypeProvider>();
    useDialect(instance, { renderError: renderCloudmcError, optionsBody: (_request, allow) => single({ allow }) });
    acceptJsonBodiesOnly(instance);
    app.addHook('onRequest', async (request, reply) => {
      // Unknown endpoints and wrong verbs answer as such, key or not.
      if (request.is404) return limits.address(request, reply);
      await authenticateWithinLimits(limits, request, reply, () => authenticateActor(request, CLOUDMC_CARRIERS, services, requestedOrganization(request)));
    });
    administrationRoutes(app, services);
    computeRoutes(app, services);
    taskRoutes(app, services);
  };
}
