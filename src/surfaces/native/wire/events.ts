import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/events/events/: what clients send and receive, in the native API's names. */

export const EventBody = Type.Object({
  id: Type.Integer({ description: 'Position in the stream: increasing in commit order.' }),
  type: Type.String({ examples: ['task.succeeded'] }),
  organization: Uuid,
  actor: Type.Union([Uuid, Type.Null()], { description: 'The user whose request caused it; null for the system.' }),
  resource: Type.Union([Type.Object({ type: Type.String(), id: Type.String() }), Type.Null()]),
  data: Type.Unknown(),
  request_id: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
});

export const EventFilters = {
  type: Type.Optional(Type.String({ maxLength: 100, description: 'An event type, or a prefix such as `task.*`.' })),
  resource: Type.Optional(Type.String({ maxLength: 300, description: 'Events of this resource: `<id>` or `<type>:<id>`.' })),
};
