import type { FastifyInstance } from 'fastify';
import { SCOPE_NAMES } from '../../core/oauth/scopes.ts';
import { baseUrl } from '../../http/surface.ts';

/** RFC 8414 authorization server metadata, so clients configure themselves from the issuer URL. */
export function metadataEndpoint(app: FastifyInstance): void {
  app.get('/.well-known/oauth-authorization-server', { schema: { tags: ['oauth'], summary: 'OAuth 2 authorization server metadata (RFC 8414)', security: [] } }, async (request) => {
    const issuer = baseUrl(request);
    const clientAuth = ['client_secret_basic', 'client_secret_post'];
    return {
      issuer,
      authorization_endpoint: `${issuer}/api/oauth/authorize`,
      token_endpoint: `${issuer}/api/oauth/token`,
      revocation_endpoint: `${issuer}/api/oauth/revoke`,
      introspection_endpoint: `${issuer}/api/oauth/introspect`,
      scopes_supported: SCOPE_NAMES,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'password'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: [...clientAuth, 'none'],
      revocation_endpoint_auth_methods_supported: [...clientAuth, 'none'],
      introspection_endpoint_auth_methods_supported: clientAuth,
      authorization_response_iss_parameter_supported: true,
    };
  });
}
