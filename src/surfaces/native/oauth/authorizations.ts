import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { UserAuthorization, UserAuthorizationService } from '../../../core/oauth/user-authorizations.ts';
import { baseUrl } from '../../../http/surface.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { AuthorizationBody } from '../wire/oauth-authorizations.ts';

const COLLECTION = '/api/oauth/authorizations/';

/** `/api/oauth/authorizations/`: the applications the calling user has authorized; DELETE takes the access back. */
export function oauthAuthorizationRoutes(app: FastifyTypeBox, authorizations: UserAuthorizationService): void {
  const render = (request: FastifyRequest) => (a: UserAuthorization) => ({
    id: a.id,
    application: { id: a.applicationId, name: a.applicationName, client_id: a.clientId },
    scopes: a.scopes,
    url: `${baseUrl(request)}${COLLECTION}${a.id}/`,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  });

  collectionRoutes(app, {
    path: COLLECTION,
    tags: ['oauth'],
    errors: commonErrors,
    item: AuthorizationBody,
    render,
    list: { summary: 'List the applications you have authorized', filters: { client_id: Type.Optional(Type.String({ maxLength: 200 })) }, run: authorizations.list },
    remove: { summary: 'Revoke an authorization and every token issued under it', run: authorizations.revoke },
  });
}
