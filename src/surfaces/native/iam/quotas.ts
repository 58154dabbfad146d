import type { CoreServices } from '../../../core/services.ts';
import { commonErrors, IdParams } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { QuotasBody, QuotasPatch } from '../wire/quotas.ts';

/** `/api/iam/organizations/<id>/quotas/`: an organization's limits, set by its parent. */
export function quotaRoutes(app: FastifyTypeBox, { quotas }: Pick<CoreServices, 'quotas'>): void {
  const tags = ['iam'];
  const url = '/api/iam/organizations/:id/quotas/';

  app.get(url, {
    schema: { tags, summary: "An organization's quotas", params: IdParams, response: { 200: QuotasBody, ...commonErrors } },
    handler: async (request) => quotas.get(request.actor, request.params.id),
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url,
      schema: { tags, summary: "Set some of an organization's quotas (only from a parent organization)", params: IdParams, body: QuotasPatch, response: { 200: QuotasBody, ...commonErrors } },
      handler: async (request) => quotas.set(request.actor, request.params.id, request.body),
    });
  }
}
