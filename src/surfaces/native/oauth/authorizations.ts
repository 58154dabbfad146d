import { Type } from 'typebox';
import type { UserAuthorization, UserAuthorizationService } from '../../../core/oauth/user-authorizations.ts';
import { baseUrl, listQuerySchema, listResponseSchema, sendList, toListRequest } from '../../../http/pagination.ts';
import { commonErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const AuthorizationBody = Type.Object({
  id: Uuid,
  application: Type.Object({ id: Uuid, name: Type.String(), client_id: Type.String() }),
  scopes: Type.Array(Type.String(), { description: 'The scopes the user approved last.' }),
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const COLLECTION = '/api/oauth/authorizations/';

/** `/api/oauth/authorizations/`: the applications the calling user has authorized; DELETE takes the access back. */
export function oauthAuthorizationRoutes(app: FastifyTypeBox, authorizations: UserAuthorizationService): void {
  const tags = ['oauth'];
  const render = (request: { protocol: string; host: string }) => (a: UserAuthorization) => ({
    id: a.id,
    application: { id: a.applicationId, name: a.applicationName, client_id: a.clientId },
    scopes: a.scopes,
    url: `${baseUrl(request as never)}${COLLECTION}${a.id}/`,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  });

  app.get(COLLECTION, {
    schema: {
      tags,
      summary: 'List the applications you have authorized',
      querystring: listQuerySchema({ client_id: Type.Optional(Type.String({ maxLength: 200 })) }),
      response: { 200: listResponseSchema(AuthorizationBody), ...commonErrors },
    },
    handler: async (request, reply) => sendList(request, reply, await authorizations.list(request.actor, toListRequest(request.query)), render(request)),
  });

  app.delete(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Revoke an authorization and every token issued under it', params: IdParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await authorizations.revoke(request.actor, request.params.id);
      return reply.code(204).send(null);
    },
  });
}
