import { Type } from 'typebox';
import { ENVIRONMENT_ROLE_NAMES } from '../../../core/environments/environment-service.ts';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/iam/environments/ and /api/iam/service-connections/: what clients send and receive, in the native API's names. */

export const EnvironmentBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  description: Type.String(),
  organization: Uuid,
  service_connection: Uuid,
  url: Type.String({ description: 'Absolute URL of this environment.' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export const writable = {
  name: Type.String({ maxLength: 200, description: 'Lowercase letters, digits, dashes and underscores; unique in its organization.' }),
  description: Type.String({ maxLength: 1000 }),
};
export const EnvironmentsPost = Type.Object({
  name: writable.name,
  description: Type.Optional(writable.description),
  service_connection: Type.String({ maxLength: 200, description: 'The service connection its resources are made on (GET /api/iam/service-connections/).' }),
  organization: Type.Optional(Type.String({ maxLength: 200, description: 'Defaults to the acting organization.' })),
});
export const EnvironmentPatch = Type.Object({ name: Type.Optional(writable.name), description: Type.Optional(writable.description) });
export const EnvironmentPut = Type.Object({ name: writable.name, description: Type.Optional(writable.description) });

export const MemberBody = Type.Object({ id: Uuid, user: Uuid, username: Type.String(), role: Type.String(), created_at: Timestamp });
export const MembersPost = Type.Object({ user: Type.String({ maxLength: 200 }), role: Type.String({ maxLength: 50, description: ENVIRONMENT_ROLE_NAMES.join(', ') }) });
export const MemberParams = Type.Object({ id: Type.String({ maxLength: 200 }), user: Type.String({ maxLength: 200 }) });

export const ConnectionBody = Type.Object({ id: Uuid, code: Type.String({ description: 'Names the service in URLs.' }), name: Type.String(), type: Type.String() });
