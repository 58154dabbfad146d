import { Type } from 'typebox';
import { MEMBERSHIP_ROLES, type Membership } from '../../../core/iam/membership-service.ts';
import type { CoreServices } from '../../../core/services.ts';
import { collectionRoutes } from '../collection-routes.ts';
import { commonErrors, Timestamp, Uuid } from '../schemas.ts';
import type { FastifyTypeBox } from '../types.ts';

const MembershipBody = Type.Object({ id: Uuid, group: Uuid, user: Uuid, role: Type.String(), created_at: Timestamp, updated_at: Timestamp });
const role = Type.String({ maxLength: 20, description: `One of ${MEMBERSHIP_ROLES.join(', ')}.` });
const MembershipsPost = Type.Object({ group: Type.String({ maxLength: 200 }), user: Type.String({ maxLength: 200 }), role: Type.Optional(role) });
const MembershipPatch = Type.Partial(MembershipsPost);

const render = (m: Membership) => ({ id: m.id, group: m.groupId, user: m.userId, role: m.role, created_at: m.createdAt, updated_at: m.updatedAt });

const COLLECTION = '/api/iam/memberships/';

/** `/api/iam/memberships/`: who is in which group; a group always keeps an owner. */
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
    create: { summary: 'Add a user to a group', body: MembershipsPost, run: async (actor, body) => ({ row: await memberships.create(actor, body) }) },
    retrieve: { summary: 'Retrieve a membership', run: memberships.get },
    update: { summary: "Change a member's role", body: MembershipPatch, replace: { summary: "Change a member's role", body: MembershipPatch }, run: memberships.update },
    remove: { summary: 'Remove a user from a group (never its last owner)', run: memberships.remove },
  });
}
