import type { FastifyRequest } from 'fastify';
import type { CoreServices } from '../../core/services.ts';
import { authenticateActor, requestedOrganization, type CredentialCarriers } from '../../http/auth.ts';

/** Every carrier Alpacon's clients and the dialects' habits use: all of them resolve to one principal. */
export const NATIVE_CARRIERS: CredentialCarriers = { authorization: ['token', 'bearer', 'basic'], headers: ['x-auth-token', 'mc-api-key'] };

/** The request's actor, acting in its own organization or in the sub-organization `?org_id=` names. */
export async function authenticateRequest(request: FastifyRequest, services: Pick<CoreServices, 'principals' | 'access'>): Promise<void> {
  await authenticateActor(request, NATIVE_CARRIERS, services, requestedOrganization(request));
}
