import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../../core/apps/app-services.ts';
import type { Domain } from '../../../core/apps/domain-service.ts';
import { baseUrl } from '../../../http/surface.ts';
import { commonErrors, IdParams } from '../wire/common.ts';
import { AppItemParams, DomainBody, DomainPatch, DomainPost, DomainsBody } from '../wire/apps.ts';
import type { FastifyTypeBox } from '../types.ts';
import { APPS_COLLECTION } from './apps.ts';

/** Custom domains of an app: `/api/apps/apps/<id or name>/domains/`, each by id or by name. */
export function appDomainRoutes(app: FastifyTypeBox, { domains }: Pick<AppServices, 'domains'>): void {
  const tags = ['apps'];
  const DOMAINS = `${APPS_COLLECTION}:id/domains/`;
  const render = (request: FastifyRequest) => (d: Domain) => ({
    id: d.id, app: d.app_id, name: d.name, ssl: d.tls_cert !== null, tls_cert: d.tls_cert, tls_expires_at: d.tls_expires_at,
    url: `${baseUrl(request)}${APPS_COLLECTION}${d.app_id}/domains/${d.id}/`, created_at: d.created_at, updated_at: d.updated_at,
  });

  app.get(DOMAINS, {
    schema: { tags, summary: "The app's custom domains", params: IdParams, response: { 200: DomainsBody, ...commonErrors } },
    handler: async (request) => ({ domains: (await domains.list(request.actor, request.params.id)).map(render(request)) }),
  });

  app.post(DOMAINS, {
    schema: { tags, summary: 'Add a custom domain, with its certificate and key for HTTPS when given', params: IdParams, body: DomainPost, response: { 201: DomainBody, ...commonErrors } },
    handler: async (request, reply) => {
      const domain = render(request)(await domains.create(request.actor, request.params.id, request.body));
      return reply.code(201).header('location', domain.url).send(domain);
    },
  });

  app.get(`${DOMAINS}:item/`, {
    schema: { tags, summary: 'A custom domain (by id or name)', params: AppItemParams, response: { 200: DomainBody, ...commonErrors } },
    handler: async (request) => render(request)(await domains.get(request.actor, request.params.id, request.params.item)),
  });

  app.patch(`${DOMAINS}:item/`, {
    schema: { tags, summary: "Set, replace or remove a domain's certificate and key", params: AppItemParams, body: DomainPatch, response: { 200: DomainBody, ...commonErrors } },
    handler: async (request) => render(request)(await domains.update(request.actor, request.params.id, request.params.item, request.body)),
  });

  app.delete(`${DOMAINS}:item/`, {
    schema: { tags, summary: 'Remove a custom domain (the router stops serving it at once)', params: AppItemParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await domains.remove(request.actor, request.params.id, request.params.item);
      return reply.code(204).send(null);
    },
  });
}
