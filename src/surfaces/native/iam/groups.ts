import { Type } from 'typebox';
import type { Group } from '../../../core/iam/group-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { expectedRevision, revisionEtag } from '../../../http/conventions/etag.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../../../http/pagination.ts';
import { commonErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const GroupBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  display_name: Type.String(),
  description: Type.String(),
  organization: Uuid,
  created_at: Timestamp,
  updated_at: Timestamp,
});
const GroupsPost = Type.Object({
  name: Type.String({ maxLength: 63, description: 'Lowercase letters, digits, hyphens and underscores; unique in the organization.' }),
  display_name: Type.Optional(Type.String({ maxLength: 100 })),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
});

const render = (g: Group) => ({
  id: g.id,
  name: g.name,
  display_name: g.displayName,
  description: g.description,
  organization: g.organizationId,
  created_at: g.createdAt,
  updated_at: g.updatedAt,
});

const COLLECTION = '/api/iam/groups/';

/** `/api/iam/groups/`: groups of users; the creator is the first owner. */
export function groupRoutes(app: FastifyTypeBox, { groups }: Pick<CoreServices, 'groups'>): void {
  const tags = ['iam'];

  app.get(COLLECTION, {
    schema: { tags, summary: 'List groups', querystring: listQuerySchema({ name: Type.Optional(Type.String({ maxLength: 63 })) }), response: { 200: listResponseSchema(GroupBody), ...commonErrors } },
    handler: async (request, reply) => sendList(request, reply, await groups.list(request.actor, toListRequest(request.query)), render),
  });

  app.post(COLLECTION, {
    schema: { tags, summary: 'Create a group (you become its owner)', body: GroupsPost, response: { 201: GroupBody, ...commonErrors } },
    handler: async (request, reply) => {
      const created = await groups.create(request.actor, request.body);
      reply.code(201).header('etag', revisionEtag(created.id, created.revision));
      return render(created);
    },
  });

  app.get(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Retrieve a group', params: IdParams, response: { 200: GroupBody, ...commonErrors } },
    handler: async (request, reply) => {
      const found = await groups.get(request.actor, request.params.id);
      reply.header('etag', revisionEtag(found.id, found.revision));
      return render(found);
    },
  });

  for (const [method, body, partial] of [['PUT', GroupsPost, false], ['PATCH', Type.Partial(GroupsPost), true]] as const) {
    app.route({
      method,
      url: `${COLLECTION}:id/`,
      schema: { tags, summary: partial ? 'Update some fields of a group' : 'Replace a group', params: IdParams, body, response: { 200: GroupBody, ...commonErrors } },
      handler: async (request, reply) => {
        const { id } = request.params;
        const updated = await groups.update(request.actor, id, request.body, { partial, expectedRevision: expectedRevision(request, id) });
        reply.header('etag', revisionEtag(updated.id, updated.revision));
        return render(updated);
      },
    });
  }

  app.delete(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Delete a group and its memberships', params: IdParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await groups.remove(request.actor, request.params.id);
      return reply.code(204).send(null);
    },
  });
}
