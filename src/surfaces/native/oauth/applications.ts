import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { OauthApplication, OauthApplicationService } from '../../../core/oauth/application-service.ts';
import { SCOPE_NAMES } from '../../../core/oauth/scopes.ts';
import { revisionEtag } from '../../../http/conventions/etag.ts';
import { baseUrl } from '../../../http/surface.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const ClientType = Type.Union([Type.Literal('confidential'), Type.Literal('public')], {
  description: 'confidential: a server that keeps a secret; public: a browser or native app (PKCE required, no secret).',
});

const ApplicationBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  client_id: Type.String({ description: 'Public identifier the client sends to the OAuth endpoints.' }),
  client_type: ClientType,
  redirect_uris: Type.Array(Type.String(), { description: 'Exact redirect URIs; on http://127.0.0.1 and http://[::1] any port matches.' }),
  scopes: Type.Array(Type.String(), { description: `Scopes the application may request: ${SCOPE_NAMES.join(', ')}.` }),
  organization: Uuid,
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const WithSecret = Type.Intersect([
  ApplicationBody,
  Type.Object({ client_secret: Type.Union([Type.String(), Type.Null()], { description: 'Shown only in this response; null for a public client.' }) }),
]);

const writable = {
  name: Type.String({ maxLength: 100 }),
  client_type: Type.String({ maxLength: 20, description: 'confidential (default) or public; fixed at registration.' }),
  redirect_uris: Type.Array(Type.String({ maxLength: 2000 }), { maxItems: 20 }),
  scopes: Type.Array(Type.String({ maxLength: 50 }), { maxItems: 20 }),
};
const ApplicationsPost = Type.Object({
  name: writable.name,
  client_type: Type.Optional(writable.client_type),
  redirect_uris: writable.redirect_uris,
  scopes: writable.scopes,
});
const ApplicationPatch = Type.Partial(ApplicationsPost);

const COLLECTION = '/api/oauth/applications/';

/** `/api/oauth/applications/`: OAuth clients registered by the acting organization and its sub-organizations. */
export function oauthApplicationRoutes(app: FastifyTypeBox, applications: OauthApplicationService): void {
  const tags = ['oauth'];
  const render = (request: FastifyRequest) => (a: OauthApplication) => ({
    id: a.id,
    name: a.name,
    client_id: a.clientId,
    client_type: a.clientType,
    redirect_uris: a.redirectUris,
    scopes: a.scopes,
    organization: a.organizationId,
    url: `${baseUrl(request)}${COLLECTION}${a.id}/`,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  });

  collectionRoutes(app, {
    path: COLLECTION,
    tags,
    errors: commonErrors,
    item: ApplicationBody,
    render,
    revisions: true,
    list: {
      summary: 'List OAuth applications',
      filters: { client_id: Type.Optional(Type.String({ maxLength: 200 })), client_type: Type.Optional(Type.String({ maxLength: 20 })) },
      run: applications.list,
    },
    create: {
      summary: 'Register an OAuth application (the client secret is shown once)',
      body: ApplicationsPost,
      response: WithSecret,
      location: true,
      run: async (actor, body) => { const { application, clientSecret } = await applications.create(actor, body); return { row: application, extra: { client_secret: clientSecret } }; },
    },
    retrieve: { summary: 'Retrieve an OAuth application', run: applications.get },
    update: { summary: 'Update some fields of an OAuth application', body: ApplicationPatch, replace: { summary: 'Replace an OAuth application', body: ApplicationsPost }, run: applications.update },
    remove: { summary: 'Delete an OAuth application and every token issued to it', ifMatch: true, run: applications.remove },
  });

  app.post(`${COLLECTION}:id/rotate_secret/`, {
    schema: { tags, summary: 'Replace the client secret (the old one stops working; the new one is shown once)', params: IdParams, response: { 200: WithSecret, ...commonErrors } },
    handler: async (request, reply) => {
      const { application, clientSecret } = await applications.rotateSecret(request.actor, request.params.id);
      reply.header('etag', revisionEtag(application.id, application.revision));
      return { ...render(request)(application), client_secret: clientSecret };
    },
  });
}
