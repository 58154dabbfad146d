import { Type } from 'typebox';
import type { CoreServices } from '../../../core/services.ts';
import type { User } from '../../../core/users/user-service.ts';
import { expectedRevision, revisionEtag } from '../../../http/conventions/etag.ts';
import { baseUrl, listQuerySchema, listResponseSchema, sendList, toListRequest } from '../../../http/pagination.ts';
import { commonErrors, IdParams, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const UserBody = Type.Object({
  id: Uuid,
  username: Type.String(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  is_active: Type.Boolean(),
  is_staff: Type.Boolean(),
  is_superuser: Type.Boolean(),
  organization: Uuid,
  role: Type.Union([Type.String(), Type.Null()], { description: 'Role in the user\'s own organization (see /api/iam/roles/).' }),
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
  last_login: Type.Union([Timestamp, Type.Null()]),
});

const writable = {
  username: Type.String({ maxLength: 150 }),
  email: Type.String({ maxLength: 254 }),
  first_name: Type.String({ maxLength: 150 }),
  last_name: Type.String({ maxLength: 150 }),
  is_active: Type.Boolean(),
  is_staff: Type.Boolean({ description: 'Superusers only.' }),
  is_superuser: Type.Boolean({ description: 'Superusers only.' }),
  organization: Type.String({ maxLength: 200, description: 'Defaults to the acting organization.' }),
  role: Type.String({ maxLength: 50, description: 'Role in that organization; member by default.' }),
};
const UsersPost = Type.Object({
  username: writable.username,
  password: Type.Optional(Type.String({ maxLength: 4096, description: "Checked with Django's validators; omit it for a user who signs in with API credentials only." })),
  email: Type.Optional(writable.email),
  first_name: Type.Optional(writable.first_name),
  last_name: Type.Optional(writable.last_name),
  is_active: Type.Optional(writable.is_active),
  is_staff: Type.Optional(writable.is_staff),
  is_superuser: Type.Optional(writable.is_superuser),
  organization: Type.Optional(writable.organization),
  role: Type.Optional(writable.role),
});
const UserPut = Type.Object({ ...writable, email: Type.Optional(writable.email), first_name: Type.Optional(writable.first_name), last_name: Type.Optional(writable.last_name), is_active: Type.Optional(writable.is_active), is_staff: Type.Optional(writable.is_staff), is_superuser: Type.Optional(writable.is_superuser), organization: Type.Optional(writable.organization), role: Type.Optional(writable.role) });
const UserPatch = Type.Partial(UserPut);
const PasswordPost = Type.Object({
  old_password: Type.Optional(Type.String({ maxLength: 4096, description: 'Required when changing your own password.' })),
  password: Type.String({ maxLength: 4096 }),
});

const COLLECTION = '/api/iam/users/';

/** `/api/iam/users/` (`-` is you): people of the acting organization's subtree. */
export function userRoutes(app: FastifyTypeBox, { users }: Pick<CoreServices, 'users'>): void {
  const tags = ['iam'];
  const locate = (request: { protocol: string; host: string }, id: string) => `${baseUrl(request as never)}${COLLECTION}${id}/`;
  const render = (request: { protocol: string; host: string }) => (u: User) => ({
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
    url: locate(request, u.id),
    created_at: u.createdAt,
    updated_at: u.updatedAt,
    last_login: u.lastLogin,
  });

  app.get(COLLECTION, {
    schema: {
      tags,
      summary: 'List users',
      querystring: listQuerySchema({
        username: Type.Optional(Type.String({ maxLength: 150 })),
        email: Type.Optional(Type.String({ maxLength: 254 })),
        is_active: Type.Optional(Type.String({ enum: ['true', 'false'] })),
        organization: Type.Optional(Type.String({ maxLength: 200 })),
      }),
      response: { 200: listResponseSchema(UserBody), ...commonErrors },
    },
    handler: async (request, reply) => sendList(request, reply, await users.list(request.actor, toListRequest(request.query)), render(request)),
  });

  app.post(COLLECTION, {
    schema: { tags, summary: 'Create a user', body: UsersPost, response: { 201: UserBody, ...commonErrors } },
    handler: async (request, reply) => {
      const created = await users.create(request.actor, request.body);
      reply.code(201).header('location', locate(request, created.id)).header('etag', revisionEtag(created.id, created.revision));
      return render(request)(created);
    },
  });

  app.get(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Retrieve a user (`-` for yourself)', params: IdParams, response: { 200: UserBody, ...commonErrors } },
    handler: async (request, reply) => {
      const found = await users.get(request.actor, request.params.id);
      reply.header('etag', revisionEtag(found.id, found.revision));
      return render(request)(found);
    },
  });

  for (const [method, body, partial] of [['PUT', UserPut, false], ['PATCH', UserPatch, true]] as const) {
    app.route({
      method,
      url: `${COLLECTION}:id/`,
      schema: { tags, summary: partial ? 'Update some fields of a user' : 'Replace a user', params: IdParams, body, response: { 200: UserBody, ...commonErrors } },
      handler: async (request, reply) => {
        const { id } = request.params;
        const updated = await users.update(request.actor, id, request.body, { partial, expectedRevision: id === '-' ? undefined : expectedRevision(request, id) });
        reply.header('etag', revisionEtag(updated.id, updated.revision));
        return render(request)(updated);
      },
    });
  }

  app.delete(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Delete a user', params: IdParams, response: { 204: Type.Null(), ...commonErrors } },
    handler: async (request, reply) => {
      await users.remove(request.actor, request.params.id);
      return reply.code(204).send(null);
    },
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
      await users.changePassword(request.actor, request.params.id, request.body);
      return reply.code(204).send(null);
    },
  });
}
