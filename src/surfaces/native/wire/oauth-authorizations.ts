import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/oauth/authorizations/: what clients send and receive, in the native API's names. */

export const AuthorizationBody = Type.Object({
  id: Uuid,
  application: Type.Object({ id: Uuid, name: Type.String(), client_id: Type.String() }),
  scopes: Type.Array(Type.String(), { description: 'The scopes the user approved last.' }),
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});
