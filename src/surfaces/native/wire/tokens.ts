import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/auth/tokens/: what clients send and receive, in the native API's names. */

export const TokenBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  prefix: Type.String({ description: 'The first characters of the token, for recognising it.' }),
  last_characters: Type.String({ description: 'The last four characters of the token.' }),
  enabled: Type.Boolean({ description: 'Neither revoked nor expired.' }),
  expires_at: Type.Union([Timestamp, Type.Null()]),
  last_used_at: Type.Union([Timestamp, Type.Null()], { description: 'Updated at most once a minute.' }),
  revoked_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
});

export const CreatedTokenBody = Type.Object({ ...TokenBody.properties, key: Type.String({ description: 'The token itself. Shown in this response only.' }) });

export const TokensPost = Type.Object({
  name: Type.String({ maxLength: 100 }),
  scopes: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 100, description: '`resource:action` entries; `*` (the default) is everything you have.' })),
  expires_at: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
});

export const TokenDuplicatePost = Type.Object({ name: Type.Optional(Type.String({ maxLength: 100, description: 'Defaults to the original name with " (copy)".' })) });

export const ScopesBody = Type.Object({
  resources: Type.Array(
    Type.Object({ name: Type.String(), actions: Type.Array(Type.String()), acl: Type.Array(Type.String({ description: 'The token ACL kinds (`command`, `server`, `file`: /api/security/<kind>-acl/) that narrow what the resource does.' })) }),
    { description: "Nimbus's resources and Alpacon's names for them (`websh`, `webftp`: `command`; `member`: `membership`; `history`: `audit`), with Nimbus's actions and Alpacon's (`create`, `update`, `delete`, `execute` mean `write`; `list`, `retrieve` mean `read`)." },
  ),
  wildcards: Type.Array(Type.String()),
});

export const ExchangeBody = Type.Object({ token: Type.String({ description: 'A JWT valid one hour (`exp`); send it as `Authorization: Bearer <jwt>`.' }), expires_at: Timestamp });
