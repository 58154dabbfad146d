import { Type } from 'typebox';
import { MEMBERSHIP_ROLES } from '../../../core/iam/membership-service.ts';
import { Timestamp, Uuid } from './common.ts';
import { UserSummaryBody } from './summaries.ts';

/** The wire schemas of /api/iam/memberships/: what clients send and receive, in the native API's names. */

export const MembershipBody = Type.Object({ id: Uuid, group: Uuid, group_name: Type.String(), user: UserSummaryBody, role: Type.String(), created_at: Timestamp, updated_at: Timestamp });

const role = Type.String({ maxLength: 20, description: `One of ${MEMBERSHIP_ROLES.join(', ')}.` });

export const MembershipsPost = Type.Object({ group: Type.String({ maxLength: 200 }), user: Type.String({ maxLength: 200 }), role: Type.Optional(role) });

export const MembershipPatch = Type.Partial(MembershipsPost);
