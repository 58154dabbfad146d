import { Type } from 'typebox';
import type { Group } from '../../../core/iam/group-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const GroupBody = Type.Object({
  id: Uuid,
  name: Type.String(),
  display_name: Type.String(),
  description: Type.String(),
  organization: Uuid,
  created_at: Timestamp,
  updated_at: Timestamp,
});
const GroupsPost = Type.Object({
  name: Type.String({ maxLength: 63, description: 'Lowercase letters, digits, hyphens and underscores; unique in the organization.' }),
  display_name: Type.Optional(Type.String({ maxLength: 100 })),
  description: Type.Optional(Type.String({ maxLength: 1000 })),
});

const render = (g: Group) => ({
  id: g.id,
  name: g.name,
  display_name: g.displayName,
  description: g.description,
  organization: g.organizationId,
  created_at: g.createdAt,
  updated_at: g.updatedAt,
});

const COLLECTION = '/api/iam/groups/';

/** `/api/iam/groups/`: groups of users; the creator is the first owner. */
export function groupRoutes(app: FastifyTypeBox, { groups }: Pick<CoreServices, 'groups'>): void {
  collectionRoutes(app, {
    path: COLLECTION,
    tags: ['iam'],
    errors: commonErrors,
    item: GroupBody,
    render: () => render,
    revisions: true,
    list: { summary: 'List groups', filters: { name: Type.Optional(Type.String({ maxLength: 63 })) }, run: groups.list },
    create: { summary: 'Create a group (you become its owner)', body: GroupsPost, run: async (actor, body) => ({ row: await groups.create(actor, body) }) },
    retrieve: { summary: 'Retrieve a group', run: groups.get },
    update: { summary: 'Update some fields of a group', body: Type.Partial(GroupsPost), replace: { summary: 'Replace a group', body: GroupsPost }, run: groups.update },
    remove: { summary: 'Delete a group and its memberships', run: groups.remove },
  });
}
