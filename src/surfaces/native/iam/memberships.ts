import { Type, type Static } from 'typebox';
import { type Membership, type MembershipInput } from '../../../core/iam/membership-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors } from '../wire/common.ts';
import { renderUserSummary } from '../summaries.ts';
import type { FastifyTypeBox } from '../types.ts';
import { MembershipBody, MembershipPatch, MembershipsPost } from '../wire/memberships.ts';

const render = (m: Membership) => ({ id: m.id, group: m.groupId, group_name: m.groupName, user: renderUserSummary(m.user), role: m.role, created_at: m.createdAt, updated_at: m.updatedAt });

const COLLECTION = '/api/iam/memberships/';

/** `/api/iam/memberships/`: who is in which group; a group always keeps an owner. */

const membershipInput = (body: Static<typeof MembershipPatch>): MembershipInput => ({ groupId: body.group, userId: body.user, role: body.role });
export function membershipRoutes(app: FastifyTypeBox, { memberships }: Pick<CoreServices, 'memberships'>): void {
  collectionRoutes(app, {
    path: COLLECTION,
    tags: ['iam'],
    errors: commonErrors,
    item: MembershipBody,
    render: () => render,
    list: {
      summary: 'List memberships',
      filters: {
        user: Type.Optional(Type.String({ maxLength: 200 })),
        group: Type.Optional(Type.String({ maxLength: 200 })),
        role: Type.Optional(Type.String({ maxLength: 20 })),
      },
      run: memberships.list,
    },
    create: {
      summary: 'Add a user to a group',
      body: MembershipsPost,
      run: async (actor, body) => ({ row: await memberships.create(actor, membershipInput(body)) }),
    },
    retrieve: { summary: 'Retrieve a membership', run: memberships.get },
    update: { summary: "Change a member's role", body: MembershipPatch, replace: { summary: "Change a member's role", body: MembershipPatch }, run: (actor, id, body) => memberships.update(actor, id, membershipInput(body)) },
    remove: { summary: 'Remove a user from a group (never its last owner)', run: memberships.remove },
  });
}
