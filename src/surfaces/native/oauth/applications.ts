import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { OauthApplication, OauthApplicationInput, OauthApplicationService } from '../../../core/oauth/application-service.ts';
import { revisionEtag } from '../../../http/conventions/etag.ts';
import { baseUrl } from '../../../http/surface.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors, IdParams } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { ApplicationBody, ApplicationPatch, ApplicationsPost, WithSecret } from '../wire/oauth-applications.ts';

const COLLECTION = '/api/oauth/applications/';

/** `/api/oauth/applications/`: OAuth clients registered by the acting organization and its sub-organizations. */

const applicationInput = (body: Static<typeof ApplicationPatch>): OauthApplicationInput => ({ name: body.name, clientType: body.client_type, redirectUris: body.redirect_uris, scopes: body.scopes });
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
      run: async (actor, body) => {
        const { application, clientSecret } = await applications.create(actor, applicationInput(body));
        return { row: application, extra: { client_secret: clientSecret } };
      },
    },
    retrieve: { summary: 'Retrieve an OAuth application', run: applications.get },
    update: {
      summary: 'Update some fields of an OAuth application',
      body: ApplicationPatch,
      replace: { summary: 'Replace an OAuth application', body: ApplicationsPost },
      run: (actor, id, body, options) => applications.update(actor, id, applicationInput(body), options),
    },
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
