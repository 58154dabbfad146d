import { Type } from 'typebox';
import { QUOTA_RESOURCES } from '../../../core/quotas/quota-service.ts';

/** The wire schemas of /api/iam/organizations/<id>/quotas/: what clients send and receive, in the native API's names. */

const limit = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'null is unlimited.' });

export const QuotasBody = Type.Object(Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, limit])));

export const QuotasPatch = Type.Partial(QuotasBody);
