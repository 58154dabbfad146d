import type { FastifyRequest } from 'fastify';
import type { OauthApplication, OauthApplicationService } from '../../core/oauth/application-service.ts';
import { OauthError } from '../../core/oauth/oauth-errors.ts';

const BASIC = /^basic\s+([A-Za-z0-9+/=]+)$/i;

/**
 * The client calling a back-channel endpoint: HTTP Basic (`client_secret_basic`, the
 * form-encoded id and secret), or `client_id` and `client_secret` in the body. Using both
 * methods at once is refused (RFC 6749 section 2.3).
 */
export async function authenticateClient(request: FastifyRequest, params: Record<string, string | undefined>, applications: OauthApplicationService): Promise<OauthApplication> {
  const authorization = request.headers.authorization?.trim();
  if (authorization) {
    const basic = BASIC.exec(authorization);
    if (!basic) throw new OauthError('invalid_client', 'Authenticate the client with HTTP Basic or with client_id and client_secret in the body.');
    if (params.client_secret !== undefined) throw new OauthError('invalid_request', 'Use one client authentication method, not both HTTP Basic and client_secret.');
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OauthError('invalid_client', 'The Basic credentials are not client_id:client_secret.');
    const clientId = formDecode(decoded.slice(0, colon));
    if (params.client_id !== undefined && params.client_id !== clientId) throw new OauthError('invalid_request', 'client_id in the body differs from the authenticated client.');
    return applications.authenticateClient(clientId, formDecode(decoded.slice(colon + 1)));
  }
  return applications.authenticateClient(params.client_id, params.client_secret);
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new OauthError('invalid_client', 'The Basic credentials are not correctly form-encoded.');
  }
}
