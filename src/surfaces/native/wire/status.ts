import { Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/version/ and /api/status/: what clients send and receive, in the native API's names. */

export const VersionBody = Type.Object({ version: Type.String(), api_versions: Type.Array(Type.Integer()), current_api_version: Type.Integer() });

export const StatusBody = Type.Object({
  status: Type.String(),
  version: Type.String(),
  api_version: Type.Integer(),
  server_time: Timestamp,
  user: Type.Object({ id: Uuid, username: Type.String() }),
  organization: Type.Object({ id: Uuid }),
});
