import type { FastifyRequest } from 'fastify';
import type { OauthApplication, OauthApplicationService } from '../../core/oauth/application-service.ts';
import { OauthError } from '../../core/oauth/oauth-errors.ts';
import { readBasic } from '../../http/auth.ts';

/**
 * The client calling a back-channel endpoint: HTTP Basic (`client_secret_basic`, the
 * form-encoded id and secret), or `client_id` and `client_secret` in the body. Using both
 * methods at once is refused (RFC 6749 section 2.3).
 */
export async function authenticateClient(request: FastifyRequest, params: Record<string, string | undefined>, applications: OauthApplicationService): Promise<OauthApplication> {
  const authorization = request.headers.authorization?.trim();
  if (authorization) {
    const basic = readBasic(authorization);
    if (basic === undefined) throw new OauthError('invalid_client', 'Authenticate the client with HTTP Basic or with client_id and client_secret in the body.');
    if (params.client_secret !== undefined) throw new OauthError('invalid_request', 'Use one client authentication method, not both HTTP Basic and client_secret.');
    if (basic === null) throw new OauthError('invalid_client', 'The Basic credentials are not client_id:client_secret.');
    const clientId = formDecode(basic.username);
    if (params.client_id !== undefined && params.client_id !== clientId) throw new OauthError('invalid_request', 'client_id in the body differs from the authenticated client.');
    return applications.authenticateClient(clientId, formDecode(basic.password));
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
