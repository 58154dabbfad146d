import { getPlan, listPlans, type Plan } from '../../../core/compute/plans.ts';
import { commonErrors, IdParams, onePage, OnePage } from '../wire/common.ts';
import type { FastifyTypeBox } from '../types.ts';
import { PlanBody } from '../wire/plans.ts';

const render = (p: Plan) => ({ id: p.id, name: p.name, vcpus: p.vcpus, memory: p.memoryBytes });

const COLLECTION = '/api/servers/plans/';

/** `/api/servers/plans/`: named server sizes (`plan` when creating or resizing a server). */
export function planRoutes(app: FastifyTypeBox): void {
  const tags = ['servers'];

  app.get(COLLECTION, {
    schema: { tags, summary: 'List the plans a server can be made with', response: { 200: OnePage(PlanBody), ...commonErrors } },
    handler: async (request) => onePage(listPlans(request.actor).map(render)),
  });

  app.get(`${COLLECTION}:id/`, {
    schema: { tags, summary: 'Retrieve a plan', params: IdParams, response: { 200: PlanBody, ...commonErrors } },
    handler: async (request) => render(getPlan(request.actor, request.params.id)),
  });
}
