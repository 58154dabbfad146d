import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/iam/groups/: what clients send and receive, in the native API's names. */

export const GroupBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  display_name: Type.String(),
  description: Type.String(),
  organization: Uuid,
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const GroupsPost = Type.Object({
  name: Type.String({ maxLength: 63, description: 'Lowercase letters, digits, hyphens and underscores; unique in the organization.' }),
  display_name: Type.Optional(Type.String({ maxLength: 100 })),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
});

export const GroupPatch = Type.Partial(GroupsPost);
