import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/auth/credentials/: what clients send and receive, in the native API's names. */

export const CredentialBody = Type.Object({
  id: Uuid,
  user: Uuid,
  username: Type.String({ description: 'The HTTP Basic user name.' }),
  enabled: Type.Boolean(),
  scopes: Type.Array(Type.String(), { description: 'What the pair may do: the scopes of the credential that generated it.' }),
  created_at: Timestamp,
  revoked_at: Type.Union([Timestamp, Type.Null()]),
});

export const CreatedCredentialBody = Type.Object({ ...CredentialBody.properties, password: Type.String({ description: 'The HTTP Basic password. Shown in this response only.' }) });

export const CredentialsPost = Type.Object({ user: Type.Optional(Type.String({ maxLength: 200, description: 'Another user of your organization (needs credential:write); yourself by default.' })) });
