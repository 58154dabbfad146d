import { Type } from 'typebox';
import { MEMBERSHIP_ROLES, type Membership } from '../../../core/iam/membership-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../../../http/pagination.ts';
import { commonErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const MembershipBody = Type.Object({ id: Uuid, group: Uuid, user: Uuid, role: Type.String(), created_at: Timestamp, updated_at: Timestamp });
const role = Type.String({ maxLength: 20, description: `One of ${MEMBERSHIP_ROLES.join(', ')}.` });
const MembershipsPost = Type.Object({ group: Type.String({ maxLength: 200 }), user: Type.String({ maxLength: 200 }), role: Type.Optional(role) });
const MembershipPatch = Type.Partial(MembershipsPost);

const render = (m: Membership) => ({ id: m.id, group: m.groupId, user: m.userId, role: m.role, created_at: m.createdAt, updated_at: m.updatedAt });

const COLLECTION = '/api/iam/memberships/';

/** `/api/iam/memberships/`: who is in which group; a group always keeps an owner. */
export function membershipRoutes(app: FastifyTypeBox, { memberships }: Pick<CoreServices, 'memberships'>): void {
  const tags = ['iam'];

  app.get(COLLECTION, {
    schema: {
      tags,
      summary: 'List memberships',
      querystring: listQuerySchema({
        user: Type.Optional(Type.String({ maxLength: 200 })),
        group: Type.Optional(Type.String({ maxLength: 200 })),
        role: Type.Optional(Type.String({ maxLength: 20 })),
      }),
      response: { 200: listResponseSchema(MembershipBody), ...commonErrors },
    },
    handler: async (request, reply) => sendList(request, reply, await memberships.list(request.actor, toListRequest(request.query)), render),
  });

  app.post(COLLECTION, {
    schema: { tags, summary: 'Add a user to a group', body: MembershipsPost, response: { 201: MembershipBody, ...commonErrors } },
    handler: async (request, reply) => {
      reply.code(201);
      return render(await memberships.create(request.actor, request.body));
    },
  });

  app.get(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Retrieve a membership', params: IdParams, response: { 200: MembershipBody, ...commonErrors } },
    handler: async (request) => render(await memberships.get(request.actor, request.params.id)),
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: `${COLLECTION}:id/`,
      schema: { tags, summary: "Change a member's role", params: IdParams, body: MembershipPatch, response: { 200: MembershipBody, ...commonErrors } },
      handler: async (request) => render(await memberships.update(request.actor, request.params.id, request.body)),
    });
  }

  app.delete(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Remove a user from a group (never its last owner)', params: IdParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await memberships.remove(request.actor, request.params.id);
      return reply.code(204).send(null);
    },
  });
}
