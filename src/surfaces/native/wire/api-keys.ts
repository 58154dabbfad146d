import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/auth/api-key/: what clients send and receive, in the native API's names. */

export const ApiKeyBody = Type.Object({
  id: Uuid,
  prefix: Type.String({ description: 'The first characters of the key, for recognising it.' }),
  last_characters: Type.String({ description: 'The last four characters of the key.' }),
  created_at: Timestamp,
  last_used_at: Type.Union([Timestamp, Type.Null()], { description: 'Updated at most once a minute.' }),
});
export const CreatedApiKeyBody = Type.Object({ ...ApiKeyBody.properties, key: Type.String({ description: 'The key itself (send it as `MC-Api-Key`). Shown in this response only.' }) });
