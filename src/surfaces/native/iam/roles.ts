import { Type } from 'typebox';
import { NotFound } from '../../../core/errors.ts';
import type { RoleBinding } from '../../../core/iam/role-binding-service.ts';
import { ROLES, type RoleDefinition } from '../../../core/iam/roles.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors, IdParams, onePage, OnePage } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { BindingBody, BindingPatch, BindingsPost, RoleBody } from '../wire/roles.ts';

const renderRole = (role: RoleDefinition) => ({ id: role.name, name: role.name, description: role.description, is_system: true, permissions: [...role.permissions] });

const renderBinding = (b: RoleBinding) => ({ id: b.id, user: b.userId, organization: b.organizationId, role: b.role, created_at: b.createdAt });

const BINDINGS = '/api/iam/role-bindings/';

/** `/api/iam/roles/` (the built-in roles) and `/api/iam/role-bindings/` (who holds which, where). */

export function roleRoutes(app: FastifyTypeBox, { roleBindings }: Pick<CoreServices, 'roleBindings'>): void {
  const tags = ['iam'];
  const roles = Object.values(ROLES);

  app.get('/api/iam/roles/', {
    schema: { tags, summary: 'List the built-in roles and their permissions', response: { 200: OnePage(RoleBody), ...commonErrors } },
    handler: async () => onePage(roles.map(renderRole)),
  });

  app.get('/api/iam/roles/:id/', {
    schema: { tags, summary: 'Retrieve a role', params: IdParams, response: { 200: RoleBody, ...commonErrors } },
    handler: async (request) => {
      const role = Object.hasOwn(ROLES, request.params.id) ? ROLES[request.params.id] : undefined;
      if (!role) throw new NotFound('role', 'No role matches the given query.');
      return renderRole(role);
    },
  });

  collectionRoutes(app, {
    path: BINDINGS,
    tags,
    errors: commonErrors,
    item: BindingBody,
    render: () => renderBinding,
    list: {
      summary: "List users' roles in organizations",
      filters: {
        user: Type.Optional(Type.String({ maxLength: 200 })),
        organization: Type.Optional(Type.String({ maxLength: 200 })),
        role: Type.Optional(Type.String({ maxLength: 50 })),
      },
      run: roleBindings.list,
    },
    create: { summary: 'Give a user a role in an organization (replacing the one it had there)', body: BindingsPost, run: async (actor, body) => ({ row: await roleBindings.create(actor, { userId: body.user, organizationId: body.organization, role: body.role }) }) },
    retrieve: { summary: 'Retrieve a role binding', run: roleBindings.get },
    update: { summary: 'Change the role', body: BindingPatch, replace: { summary: 'Change the role', body: BindingPatch }, run: roleBindings.update },
    remove: { summary: 'Take the role away', run: roleBindings.remove },
  });
}
