import { Type } from 'typebox';
import type { Organization, OrganizationService } from '../../../core/organizations/organization-service.ts';
import { expectedRevision, revisionEtag } from '../../../http/conventions/etag.ts';
import { baseUrl, listQuerySchema, listResponseSchema, sendList, toListRequest } from '../../../http/pagination.ts';
import { commonErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const OrganizationBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  slug: Type.String(),
  parent: Type.Union([Uuid, Type.Null()], { description: 'Parent organization; null for a root.' }),
  url: Type.String({ description: 'Absolute URL of this organization.' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const writable = {
  name: Type.String({ maxLength: 100 }),
  slug: Type.String({ maxLength: 63, description: 'Lowercase letters, digits and hyphens; generated from the name when omitted.' }),
  parent: Type.Union([Type.String({ maxLength: 200 }), Type.Null()], { description: 'Parent organization id; defaults to the acting organization.' }),
};
const OrganizationsPost = Type.Object({ name: writable.name, slug: Type.Optional(writable.slug), parent: Type.Optional(writable.parent) });
const OrganizationPut = OrganizationsPost;
const OrganizationPatch = Type.Partial(OrganizationsPost);

const COLLECTION = '/api/iam/organizations/';

/** `/api/iam/organizations/`: the tenancy tree, scoped to the acting organization's subtree. */
export function organizationRoutes(app: FastifyTypeBox, organizations: OrganizationService): void {
  const tags = ['iam'];
  const locate = (request: { protocol: string; host: string }, id: string) => `${baseUrl(request as never)}${COLLECTION}${id}/`;
  const render = (request: { protocol: string; host: string }) => (o: Organization) => ({
    id: o.id,
    name: o.name,
    slug: o.slug,
    parent: o.parentId,
    url: locate(request, o.id),
    created_at: o.createdAt,
    updated_at: o.updatedAt,
  });

  app.get(COLLECTION, {
    schema: {
      tags,
      summary: 'List organizations (yours and its descendants)',
      querystring: listQuerySchema({
        parent: Type.Optional(Type.String({ maxLength: 200, description: 'Only direct children of this organization.' })),
        slug: Type.Optional(Type.String({ maxLength: 200 })),
        name: Type.Optional(Type.String({ maxLength: 200 })),
      }),
      response: { 200: listResponseSchema(OrganizationBody), ...commonErrors },
    },
    handler: async (request, reply) => {
      const result = await organizations.list(request.actor, toListRequest(request.query));
      return sendList(request, reply, result, render(request));
    },
  });

  app.post(COLLECTION, {
    schema: { tags, summary: 'Create a sub-organization', body: OrganizationsPost, response: { 201: OrganizationBody, ...commonErrors } },
    handler: async (request, reply) => {
      const created = await organizations.create(request.actor, request.body);
      reply.code(201).header('location', locate(request, created.id)).header('etag', revisionEtag(created.id, created.revision));
      return render(request)(created);
    },
  });

  app.get(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Retrieve an organization', params: IdParams, response: { 200: OrganizationBody, ...commonErrors } },
    handler: async (request, reply) => {
      const found = await organizations.get(request.actor, request.params.id);
      reply.header('etag', revisionEtag(found.id, found.revision));
      return render(request)(found);
    },
  });

  for (const [method, body, partial] of [['PUT', OrganizationPut, false], ['PATCH', OrganizationPatch, true]] as const) {
    app.route({
      method,
      url: `${COLLECTION}:id/`,
      schema: { tags, summary: partial ? 'Update some fields of an organization' : 'Replace an organization', params: IdParams, body, response: { 200: OrganizationBody, ...commonErrors } },
      handler: async (request, reply) => {
        const { id } = request.params;
        const updated = await organizations.update(request.actor, id, request.body, { partial, expectedRevision: expectedRevision(request, id) });
        reply.header('etag', revisionEtag(updated.id, updated.revision));
        return render(request)(updated);
      },
    });
  }

  app.delete(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Delete an organization (refused while it has sub-organizations or users)', params: IdParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      const { id } = request.params;
      await organizations.remove(request.actor, id, { expectedRevision: expectedRevision(request, id) });
      return reply.code(204).send(null);
    },
  });
}
