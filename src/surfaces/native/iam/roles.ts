import { Type } from 'typebox';
import { NotFound } from '../../../core/errors.ts';
import type { RoleBinding } from '../../../core/iam/role-binding-service.ts';
import { ROLES, type RoleDefinition } from '../../../core/iam/roles.ts';
import type { CoreServices } from '../../../core/services.ts';
import { listQuerySchema, listResponseSchema, sendList, toListRequest } from '../../../http/pagination.ts';
import { commonErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const RoleBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  is_system: Type.Boolean(),
  permissions: Type.Array(Type.String()),
});
const RoleListBody = Type.Object({ count: Type.Integer(), current: Type.Integer(), next: Type.Null(), previous: Type.Null(), last: Type.Integer(), results: Type.Array(RoleBody) });

const BindingBody = Type.Object({ id: Uuid, user: Uuid, organization: Uuid, role: Type.String(), created_at: Timestamp });
const BindingsPost = Type.Object({
  user: Type.String({ maxLength: 200 }),
  organization: Type.Optional(Type.String({ maxLength: 200, description: 'Defaults to the acting organization; the role covers its sub-organizations too.' })),
  role: Type.String({ maxLength: 50 }),
});
const BindingPatch = Type.Object({ role: Type.String({ maxLength: 50 }) });

const renderRole = (role: RoleDefinition) => ({ id: role.name, name: role.name, description: role.description, is_system: true, permissions: [...role.permissions] });
const renderBinding = (b: RoleBinding) => ({ id: b.id, user: b.userId, organization: b.organizationId, role: b.role, created_at: b.createdAt });

const BINDINGS = '/api/iam/role-bindings/';

/** `/api/iam/roles/` (the built-in roles) and `/api/iam/role-bindings/` (who holds which, where). */
export function roleRoutes(app: FastifyTypeBox, { roleBindings }: Pick<CoreServices, 'roleBindings'>): void {
  const tags = ['iam'];
  const roles = Object.values(ROLES);

  app.get('/api/iam/roles/', {
    schema: { tags, summary: 'List the built-in roles and their permissions', response: { 200: RoleListBody, ...commonErrors } },
    handler: async () => ({ count: roles.length, current: 1, next: null, previous: null, last: 1, results: roles.map(renderRole) }),
  });

  app.get('/api/iam/roles/:id/', {
    schema: { tags, summary: 'Retrieve a role', params: IdParams, response: { 200: RoleBody, ...commonErrors } },
    handler: async (request) => {
      const role = Object.hasOwn(ROLES, request.params.id) ? ROLES[request.params.id] : undefined;
      if (!role) throw new NotFound('role', 'No role matches the given query.');
      return renderRole(role);
    },
  });

  app.get(BINDINGS, {
    schema: {
      tags,
      summary: "List users' roles in organizations",
      querystring: listQuerySchema({
        user: Type.Optional(Type.String({ maxLength: 200 })),
        organization: Type.Optional(Type.String({ maxLength: 200 })),
        role: Type.Optional(Type.String({ maxLength: 50 })),
      }),
      response: { 200: listResponseSchema(BindingBody), ...commonErrors },
    },
    handler: async (request, reply) => sendList(request, reply, await roleBindings.list(request.actor, toListRequest(request.query)), renderBinding),
  });

  app.post(BINDINGS, {
    schema: { tags, summary: 'Give a user a role in an organization (replacing the one it had there)', body: BindingsPost, response: { 201: BindingBody, ...commonErrors } },
    handler: async (request, reply) => {
      reply.code(201);
      return renderBinding(await roleBindings.create(request.actor, request.body));
    },
  });

  app.get(`${BINDINGS}:id/`, {
    schema: { tags, summary: 'Retrieve a role binding', params: IdParams, response: { 200: BindingBody, ...commonErrors } },
    handler: async (request) => renderBinding(await roleBindings.get(request.actor, request.params.id)),
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: `${BINDINGS}:id/`,
      schema: { tags, summary: 'Change the role', params: IdParams, body: BindingPatch, response: { 200: BindingBody, ...commonErrors } },
      handler: async (request) => renderBinding(await roleBindings.update(request.actor, request.params.id, request.body)),
    });
  }

  app.delete(`${BINDINGS}:id/`, {
    schema: { tags, summary: 'Take the role away', params: IdParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await roleBindings.remove(request.actor, request.params.id);
      return reply.code(204).send(null);
    },
  });
}
