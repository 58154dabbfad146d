import type { FastifyInstance } from 'fastify';
import type { OauthServices } from '../../core/oauth/oauth-services.ts';
import { authorizeEndpoint } from './authorize.ts';
import { renderOauthError } from './errors.ts';
import { metadataEndpoint } from './metadata.ts';
import { acceptFormBodies } from './params.ts';
import { tokenEndpoints } from './token-endpoints.ts';

/**
 * The OAuth 2 authorization server's protocol endpoints. An encapsulated plugin: its form
 * bodies, HTML pages and RFC 6749 error bodies stay inside it. Client registrations and
 * users' authorizations are ordinary native API collections (surfaces/native/oauth/).
 */
export async function oauthSurface(app: FastifyInstance, { oauth }: { oauth: OauthServices }): Promise<void> {
  acceptFormBodies(app);
  app.setErrorHandler(renderOauthError);
  metadataEndpoint(app);
  authorizeEndpoint(app, oauth);
  tokenEndpoints(app, oauth);
}
