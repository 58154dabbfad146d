import type { FastifyInstance, FastifyReply } from 'fastify';
import type { OauthServices } from '../../core/oauth/oauth-services.ts';
import { OauthError } from '../../core/oauth/oauth-errors.ts';
import { authenticateClient } from './client-auth.ts';
import { singleParams } from './params.ts';

const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
const tags = ['oauth'];

/** The back-channel endpoints: token (RFC 6749), revocation (RFC 7009), introspection (RFC 7662). */
export function tokenEndpoints(app: FastifyInstance, { applications, server }: OauthServices): void {
  app.post('/api/oauth/token', { schema: { tags, summary: 'Exchange a grant for tokens (authorization_code, refresh_token, client_credentials)' } }, async (request, reply) => {
    const params = singleParams(request.body);
    const client = await authenticateClient(request, params, applications);
    const tokens = await server.issue(client, params);
    return noStore(reply).send(tokens);
  });

  app.post('/api/oauth/revoke', { schema: { tags, summary: 'Revoke an access or refresh token (RFC 7009)' } }, async (request, reply) => {
    const params = singleParams(request.body);
    const client = await authenticateClient(request, params, applications);
    await server.revoke(client, params.token);
    return reply.send({});
  });

  app.post('/api/oauth/introspect', { schema: { tags, summary: 'Describe a token (RFC 7662); confidential clients, their own tokens only' } }, async (request, reply) => {
    const params = singleParams(request.body);
    const client = await authenticateClient(request, params, applications);
    if (client.clientType !== 'confidential') throw new OauthError('invalid_client', 'Introspection requires an authenticated confidential client.');
    return noStore(reply).send(await server.introspect(client, params.token));
  });
}
