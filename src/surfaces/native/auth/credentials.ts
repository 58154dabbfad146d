import { Type } from 'typebox';
import type { ApiCredential } from '../../../core/credentials/credential-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../../../http/pagination.ts';
import { commonErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const CredentialBody = Type.Object({
  id: Uuid,
  user: Uuid,
  username: Type.String({ description: 'The HTTP Basic user name.' }),
  enabled: Type.Boolean(),
  created_at: Timestamp,
  revoked_at: Type.Union([Timestamp, Type.Null()]),
});
const CreatedCredentialBody = Type.Object({ ...CredentialBody.properties, password: Type.String({ description: 'The HTTP Basic password. Shown in this response only.' }) });
const CredentialsPost = Type.Object({ user: Type.Optional(Type.String({ maxLength: 200, description: 'Another user of your organization (needs credential:write); yourself by default.' })) });

const render = (c: ApiCredential) => ({ id: c.id, user: c.userId, username: c.username, enabled: c.revokedAt === null, created_at: c.createdAt, revoked_at: c.revokedAt });

const COLLECTION = '/api/auth/credentials/';

/** `/api/auth/credentials/`: generated username/password pairs for HTTP Basic. */
export function credentialRoutes(app: FastifyTypeBox, { credentials }: Pick<CoreServices, 'credentials'>): void {
  const tags = ['auth'];

  app.get(COLLECTION, {
    schema: { tags, summary: 'List your API credentials (never their passwords)', querystring: listQuerySchema({}), response: { 200: listResponseSchema(CredentialBody), ...commonErrors } },
    handler: async (request, reply) => sendList(request, reply, await credentials.list(request.actor, toListRequest(request.query)), render),
  });

  app.post(COLLECTION, {
    schema: {
      tags,
      summary: 'Generate an API credential pair; the previous pair and every token issued with it stop working',
      body: CredentialsPost,
      response: { 201: CreatedCredentialBody, ...commonErrors },
    },
    handler: async (request, reply) => {
      const { credential, password } = await credentials.generate(request.actor, request.body ?? {});
      reply.code(201);
      return { ...render(credential), password };
    },
  });

  app.get(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Retrieve one of your API credentials', params: IdParams, response: { 200: CredentialBody, ...commonErrors } },
    handler: async (request) => render(await credentials.get(request.actor, request.params.id)),
  });

  app.delete(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Revoke an API credential and the tokens issued with it', params: IdParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await credentials.revoke(request.actor, request.params.id);
      return reply.code(204).send(null);
    },
  });
}
