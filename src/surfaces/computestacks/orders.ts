import type { FastifyInstance } from 'fastify';
import type { CatalogService } from '../../core/catalog/catalog-service.ts';
import type { ContainerInput, Order, OrderInput } from '../../core/orders/order-service.ts';
import { ValidationFailed } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import { withFieldNames, type FieldNames } from '../../http/field-names.ts';
import { rooted } from './errors.ts';
import { pageRequest, paginationHeaders } from './pagination.ts';

type OrderServices = Pick<CoreServices, 'orders' | 'catalog'>;

/** Core's field names in an order's validation errors, as ComputeStacks' clients send them. */
const COMPUTESTACKS_FIELDS: FieldNames = { 'containers[*].package_id': 'containers[*].resources.package_id' };

const asObject = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

/**
 * One container of `{order: {containers: [...]}}` as core's input. ComputeStacks names the
 * package `resources.package_id` (or `resources.product_id`, and formerly `package_id` or
 * `product_id` beside the image); its image `image_id` (formerly `container_image_id`).
 * `command` is Nimbus's: the shell line the container runs.
 */
function containerInput(value: unknown, at: string, refused: Record<string, string[]>): ContainerInput {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    refused[at] = ['Expected an object.'];
    return {};
  }
  const given = value as Record<string, unknown>;
  const resources = asObject(given.resources);
  for (const field of ['volumes', 'domains'] as const) {
    if (Array.isArray(given[field]) && (given[field] as unknown[]).length) refused[`${at}.${field}`] = ['is not supported by this server: leave it out.'];
  }
  return {
    image_id: (given.image_id ?? given.container_image_id) as string | undefined,
    package_id: (resources.package_id ?? resources.product_id ?? given.package_id ?? given.product_id) as string | undefined,
    command: given.command as string | undefined,
    params: given.params as ContainerInput['params'],
    name: given.name as string | undefined,
  };
}

/** `{"order": {...}}` as core's input; what this server cannot do (adding to an existing project, volumes, domains) is refused by name. */
function orderInput(body: unknown): OrderInput {
  const given = rooted(body, 'order');
  const refused: Record<string, string[]> = {};
  if (given.project_id !== undefined && given.project_id !== null && given.project_id !== '') refused.project_id = ['is not supported by this server: an order makes a new project (project_name).'];
  const containers = Array.isArray(given.containers) ? given.containers.map((c, i) => containerInput(c, `containers[${i}]`, refused)) : undefined;
  if (Object.keys(refused).length) throw new ValidationFailed(refused);
  return { project_name: given.project_name as string | undefined, location_id: given.location_id as string | undefined, containers };
}

/** The order's location, named; a location that no longer exists keeps its id. */
function location(catalog: CatalogService, id: string) {
  try {
    const found = catalog.resolveLocation(id, 'location_id');
    return { id: found.id, name: found.name };
  } catch {
    return { id, name: null };
  }
}

/** An order in a list: its status and its project. */
const summary = (order: Order) => ({ id: order.id, status: order.status, created_at: order.created_at, updated_at: order.updated_at, project: { id: order.project_id, name: order.project_name } });

/**
 * One order: what was ordered (`order_data`, each container with the container service made
 * for it and where its deployment stands) and, when it failed, which container failed and why.
 */
function renderOrder(catalog: CatalogService, order: Order) {
  return {
    ...summary(order),
    location: location(catalog, order.location_id),
    order_data: {
      project_name: order.project_name,
      location_id: order.location_id,
      containers: order.containers.map((c) => ({
        image_id: c.image_id,
        name: c.app_name,
        resources: { package_id: c.package_id },
        command: c.command,
        params: c.params,
        container_service_id: c.app_id,
        deployment_status: c.deployment_status,
      })),
    },
    failures: order.failures.map((f) => ({ container: f.position, name: f.app_name, container_service_id: order.containers[f.position]?.app_id ?? null, reason: f.reason })),
  };
}

/**
 * Orders (scope `order_read` to read, `order_write` to place one): an order makes a project
 * with its container services at once and provisions them by tasks; its status (open, pending,
 * processing, cancelled, failed, completed) follows them. Core also requires the rights an order
 * uses: an OAuth token places one with `order_write`, `project_write` and `images_read` together.
 */
export function orderRoutes(app: FastifyInstance, { orders, catalog }: OrderServices): void {
  const read = { config: { computestacksScope: 'order_read' as const } };
  const write = { config: { computestacksScope: 'order_write' as const } };

  app.get('/api/orders', read, async (request, reply) => {
    const result = await orders.list(request.actor, pageRequest(request.query as Record<string, unknown>));
    paginationHeaders(reply, result);
    return { orders: result.items.map(summary) };
  });

  app.get<{ Params: { id: string } }>('/api/orders/:id', read, async (request) => ({ order: renderOrder(catalog, await orders.get(request.actor, request.params.id)) }));

  // ComputeStacks answers 201 with the order's id, and the address to follow it (null: there is no page to visit here).
  app.post('/api/orders', write, async (request, reply) => {
    const order = await withFieldNames(COMPUTESTACKS_FIELDS, () => orders.create(request.actor, orderInput(request.body)));
    return reply.code(201).send({ order: { ...renderOrder(catalog, order), redirect_url: null, load_balancer_ip: null } });
  });
}
