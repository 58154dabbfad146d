import { Type } from 'typebox';
import type { Group } from '../../../core/iam/group-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { GroupBody, GroupPatch, GroupsPost } from '../wire/groups.ts';

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
    update: { summary: 'Update some fields of a group', body: GroupPatch, replace: { summary: 'Replace a group', body: GroupsPost }, run: groups.update },
    remove: { summary: 'Delete a group and its memberships', run: groups.remove },
  });
}
