import { Type } from 'typebox';
import { MEMBER_TYPES } from '../../../core/projects/project-service.ts';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/projects/projects/: what clients send and receive, in the native API's names. */

export const MemberBody = Type.Object({
  type: Type.String({ description: MEMBER_TYPES.join(', ') }),
  id: Uuid,
  name: Type.String(),
  status: Type.String({ description: "The resource's own status (an app's) or state (a server's, a volume's)." }),
});

export const ProjectBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  organization: Uuid,
  state: Type.String({ description: 'Derived from the members: working (one is changing), alert (one has failed), active (an app or a server runs), stopped, or empty.' }),
  members: Type.Array(MemberBody),
  url: Type.String({ description: 'Absolute URL of this project.' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const name = Type.String({ maxLength: 200, description: '1 to 100 characters; several projects may share a name.' });
export const ProjectsPost = Type.Object({ name });
export const ProjectPatch = Type.Object({ name: Type.Optional(name) });
export const ProjectPut = Type.Object({ name });
export const ProjectDeleteQuery = Type.Object({
  cascade: Type.Optional(Type.Boolean({ description: 'Delete a project that holds resources: its apps are deleted, its servers, volumes and images are kept.' })),
});

export const MembersPost = Type.Object({
  type: Type.String({ maxLength: 20, description: MEMBER_TYPES.join(', ') }),
  id: Type.String({ maxLength: 200, description: "The resource's id; it must belong to the project's organization." }),
});
export const MemberParams = Type.Object({ id: Type.String({ maxLength: 200 }), type: Type.String({ maxLength: 20 }), resource: Type.String({ maxLength: 200 }) });
