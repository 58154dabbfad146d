import type { FastifyInstance } from 'fastify';
import type { OauthServices } from '../../core/oauth/oauth-services.ts';
import type { RequestLimits } from '../../http/rate-limit.ts';
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
export async function oauthSurface(app: FastifyInstance, { oauth, limits }: { oauth: OauthServices; limits: RequestLimits }): Promise<void> {
  acceptFormBodies(app);
  app.setErrorHandler(renderOauthError);
  // Every endpoint here is reached without an API credential: each counts against the client's address.
  app.addHook('onRequest', async (request, reply) => limits.address(request, reply));
  metadataEndpoint(app);
  authorizeEndpoint(app, oauth);
  tokenEndpoints(app, oauth);
}
