import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/audit/activity/: what clients send and receive, in the native API's names. */

export const EventBody = Type.Object({
  id: Uuid,
  action: Type.String(),
  organization: Type.Union([Uuid, Type.Null()]),
  user: Type.Union([Uuid, Type.Null()]),
  username: Type.String(),
  target_type: Type.String(),
  target_id: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.String(),
  client_address: Type.String(),
  detail: Type.Record(Type.String(), Type.Unknown()),
  created_at: Timestamp,
});
