import { Type } from 'typebox';
import { Nullable, Uuid } from './common.ts';

/** The short forms of users and servers embedded in other resources, as Alpacon's clients read them. */

export const UserSummaryBody = Type.Object({ id: Uuid, name: Type.String({ description: 'The username.' }), email: Type.String() });

export const ServerSummaryBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  os: Nullable(Type.String({ description: "The operating system's name; null until the server's facts are known." })),
  is_connected: Type.Boolean({ description: 'Whether the server is running.' }),
});
