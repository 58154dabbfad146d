import type { FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { CoreServices } from '../../../core/services.ts';
import type { User, UserInput } from '../../../core/users/user-service.ts';
import { baseUrl } from '../../../http/surface.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { workspaceUrlOf } from '../workspace-url.ts';
import { commonErrors, IdParams } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { PasswordPost, UserBody, UserPatch, UserPut, UsersPost } from '../wire/users.ts';

const COLLECTION = '/api/iam/users/';

const userInput = (body: Static<typeof UserPatch> & { password?: string }): UserInput => ({
  username: body.username,
  email: body.email,
  firstName: body.first_name,
  lastName: body.last_name,
  password: body.password,
  isActive: body.is_active,
  isStaff: body.is_staff,
  isSuperuser: body.is_superuser,
  organizationId: body.organization,
  role: body.role,
});

/** `/api/iam/users/` (`-` is you): people of the acting organization's subtree. */
export function userRoutes(app: FastifyTypeBox, { users, access }: Pick<CoreServices, 'users' | 'access'>): void {
  const tags = ['iam'];
  const render = (request: FastifyRequest) => (u: User) => ({
    id: u.id,
    username: u.username,
    email: u.email,
    first_name: u.firstName,
    last_name: u.lastName,
    is_active: u.isActive,
    is_staff: u.isStaff,
    is_superuser: u.isSuperuser,
    organization: u.organizationId,
    role: u.role,
    url: `${baseUrl(request)}${COLLECTION}${u.id}/`,
    created_at: u.createdAt,
    updated_at: u.updatedAt,
    last_login: u.lastLogin,
  });

  collectionRoutes(app, {
    path: COLLECTION,
    tags,
    errors: commonErrors,
    item: UserBody,
    render,
    revisions: true,
    self: '-',
    list: {
      summary: 'List users',
      filters: {
        username: Type.Optional(Type.String({ maxLength: 150 })),
        email: Type.Optional(Type.String({ maxLength: 254 })),
        is_active: Type.Optional(Type.String({ enum: ['true', 'false'] })),
        organization: Type.Optional(Type.String({ maxLength: 200 })),
      },
      run: users.list,
    },
    create: { summary: 'Create a user', body: UsersPost, location: true, run: async (actor, body) => ({ row: await users.create(actor, userInput(body)) }) },
    retrieve: {
      summary: "Retrieve a user (`-` for yourself), with the workspace URL of the user's organization",
      run: users.get,
      extra: async (request, u) => ({ workspace_url: await workspaceUrlOf(request, access, u.organizationId) }),
    },
    update: {
      summary: 'Update some fields of a user',
      body: UserPatch,
      replace: { summary: 'Replace a user', body: UserPut },
      run: (actor, id, body, options) => users.update(actor, id, userInput(body), options),
    },
    remove: { summary: 'Delete a user', run: users.remove },
  });

  app.post(`${COLLECTION}:id/password/`, {
    schema: {
      tags,
      summary: 'Change a password (yours needs the old one; an administrator resets others\')',
      params: IdParams,
      body: PasswordPost,
      response: { 204: Type.Null(), ...commonErrors },
    },
    handler: async (request, reply) => {
      const { old_password: oldPassword, password } = request.body;
      await users.changePassword(request.actor, request.params.id, { oldPassword, password });
      return reply.code(204).send(null);
    },
  });
}
