import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../core/actor.ts';
import type { CoreServices } from '../../core/services.ts';
import { authenticatePrincipal, type CredentialCarriers } from '../../http/auth.ts';

/** Every carrier Alpacon's clients and the dialects' habits use: all of them resolve to one principal. */
export const NATIVE_CARRIERS: CredentialCarriers = { authorization: ['token', 'bearer', 'basic'], headers: ['x-auth-token', 'mc-api-key'] };

/**
 * Resolves the request's actor: its principal, the organization it acts in (its own, or the
 * sub-organization `?org_id=` names) and its effective permissions there.
 */
export async function authenticateRequest(request: FastifyRequest, services: Pick<CoreServices, 'principals' | 'access'>): Promise<void> {
  const requested = (request.query as Record<string, unknown> | undefined)?.org_id;
  const organizationId = typeof requested === 'string' && requested !== '' ? requested : undefined;
  // The actor can resolve itself again the same way, for requests that stay open.
  const resolve = async (): Promise<Actor> => {
    const principal = await authenticatePrincipal(request, NATIVE_CARRIERS, services.principals);
    const acting = await services.access.actingContext(principal, organizationId);
    return { principal, ...acting, requestId: request.id, clientAddress: request.ip, reauthenticate: resolve };
  };
  request.actor = await resolve();
}
