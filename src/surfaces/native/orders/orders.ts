import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Order, OrderService } from '../../../core/orders/order-service.ts';
import { baseUrl } from '../../../http/surface.ts';
import { collectionRoutes } from '../collection-routes.ts';
import type { FastifyTypeBox } from '../types.ts';
import { commonErrors, IdParams } from '../wire/common.ts';
import { OrderBody, OrdersPost } from '../wire/orders.ts';

const COLLECTION = '/api/orders/orders/';

const render = (request: FastifyRequest) => (o: Order) => ({
  id: o.id,
  status: o.status,
  failures: o.failures.map((f) => ({ container: f.position, app: f.app_name, reason: f.reason })),
  project: { id: o.project_id, name: o.project_name },
  location: o.location_id,
  containers: o.containers.map((c) => ({
    position: c.position,
    image: c.image_id,
    package: c.package_id,
    command: c.command,
    params: c.params,
    app: { id: c.app_id, name: c.app_name },
    deployment: { id: c.deployment_id, status: c.deployment_status },
  })),
  url: `${baseUrl(request)}${COLLECTION}${o.id}/`,
  created_at: o.created_at,
  updated_at: o.updated_at,
});

/** `/api/orders/orders/`: a project with its container services, provisioned by tasks; its status follows them. */
export function orderRoutes(app: FastifyTypeBox, orders: OrderService): void {
  const tags = ['orders'];

  collectionRoutes(app, {
    path: COLLECTION,
    tags,
    errors: commonErrors,
    item: OrderBody,
    render,
    list: { summary: 'List orders, newest first', filters: { project: Type.Optional(Type.String({ maxLength: 200 })) }, run: orders.list },
    create: {
      summary: 'Place an order: its project and apps are made at once, their deployments run as tasks (the status follows them)',
      body: OrdersPost,
      location: true,
      run: async (actor, body) => ({ row: await orders.create(actor, body) }),
    },
    retrieve: { summary: 'Retrieve an order, with why it failed when it did', run: orders.get },
  });

  app.post(`${COLLECTION}:id/cancel/`, {
    schema: { tags, summary: 'Cancel an order whose provisioning has not started (open or pending): its apps and project go', params: IdParams, response: { 200: OrderBody, ...commonErrors } },
    handler: async (request) => render(request)(await orders.cancel(request.actor, request.params.id)),
  });
}
