import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/iam/roles/ and /api/iam/role-bindings/: what clients send and receive, in the native API's names. */

export const RoleBody = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  is_system: Type.Boolean(),
  permissions: Type.Array(Type.String()),
});

export const BindingBody = Type.Object({ id: Uuid, user: Uuid, organization: Uuid, role: Type.String(), created_at: Timestamp });

export const BindingsPost = Type.Object({
  user: Type.String({ maxLength: 200 }),
  organization: Type.Optional(Type.String({ maxLength: 200, description: 'Defaults to the acting organization; the role covers its sub-organizations too.' })),
  role: Type.String({ maxLength: 50 }),
});

export const BindingPatch = Type.Object({ role: Type.String({ maxLength: 50 }) });
