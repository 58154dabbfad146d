import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/auth/ (login, logout, env, whoami): what clients send and receive, in the native API's names. */

export const LoginBody = Type.Object({
  username: Type.String({ maxLength: 150 }),
  password: Type.String({ maxLength: 4096 }),
  workspace_url: Type.Optional(Type.String({ maxLength: 500, description: 'Accepted for Alpacon clients; recorded in the audit trail.' })),
});

export const SessionBody = Type.Object({ token: Type.String({ description: 'Session token: send it as `Authorization: token="<token>"`.' }), expires_at: Timestamp, workspace_url: Type.String({ description: 'Where this organization is reached: its workspace endpoint `<scheme>://<slug>.<region>.<base domain>` when NIMBUS_BASE_DOMAIN is set, else this address.' }) });

export const EnvBody = Type.Object({
  auth0: Type.Object({ method: Type.String() }, { description: 'Alpacon clients read this: "none" means no external identity provider.' }),
  login: Type.Object({ methods: Type.Array(Type.String()), url: Type.String() }),
});

export const WhoamiBody = Type.Object({
  id: Uuid,
  username: Type.String(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  is_staff: Type.Boolean(),
  is_superuser: Type.Boolean(),
  organization: Uuid,
  acting_organization: Uuid,
  credential: Type.Object({ id: Uuid, kind: Type.String(), scopes: Type.Array(Type.String()) }),
  permissions: Type.Array(Type.String(), { description: 'Effective permissions of this request: role in the acting organization ∩ scopes.' }),
  principal_type: Type.String({ description: 'Alpacon: `user` (every Nimbus credential acts for a user).' }),
  auth: Type.Object({ scopes: Type.Array(Type.String()) }, { description: "Alpacon: the credential's scopes." }),
  workspace_url: Type.String({ description: 'Where this organization is reached: its workspace endpoint `<scheme>://<slug>.<region>.<base domain>` when NIMBUS_BASE_DOMAIN is set, else this address.' }),
});
