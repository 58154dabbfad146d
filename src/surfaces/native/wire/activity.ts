import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';
import { UserSummaryBody } from './summaries.ts';

/** The wire schemas of /api/audit/activity/: what clients send and receive, in the native API's names. */

export const EventBody = Type.Object({
  id: Uuid,
  action: Type.String(),
  organization: Type.Union([Uuid, Type.Null()]),
  user: Type.Union([UserSummaryBody, Type.Null()], { description: 'Who acted; null when no user did (a failed login) or the user is gone.' }),
  username: Type.String(),
  target_type: Type.String(),
  target_id: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.String(),
  client_address: Type.String(),
  detail: Type.Record(Type.String(), Type.Unknown()),
  created_at: Timestamp,
  ip: Type.String({ description: 'Alpacon: the client address.' }),
  app: Type.String({ description: 'Alpacon: the kind of target.' }),
  model: Type.String({ description: 'Alpacon: the kind of target.' }),
  description: Type.String({ description: 'Alpacon: the action.' }),
  added_at: Timestamp,
});
