import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/iam/users/: what clients send and receive, in the native API's names. */

export const UserBody = Type.Object({
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
  workspace_url: Type.Optional(Type.String({ description: "Retrieving one user: where the user's organization is reached (its workspace endpoint with NIMBUS_BASE_DOMAIN, else this address)." })),
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

export const UsersPost = Type.Object({
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

export const UserPut = Type.Object({ ...writable, email: Type.Optional(writable.email), first_name: Type.Optional(writable.first_name), last_name: Type.Optional(writable.last_name), is_active: Type.Optional(writable.is_active), is_staff: Type.Optional(writable.is_staff), is_superuser: Type.Optional(writable.is_superuser), organization: Type.Optional(writable.organization), role: Type.Optional(writable.role) });

export const UserPatch = Type.Partial(UserPut);

export const PasswordPost = Type.Object({
  old_password: Type.Optional(Type.String({ maxLength: 4096, description: 'Required when changing your own password.' })),
  password: Type.String({ maxLength: 4096 }),
});
