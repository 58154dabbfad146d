import type { Store } from '../../store/database.ts';
import { isUniqueViolation } from '../../store/errors.ts';
import type { AppRow, OrderContainerRow, OrderRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import type { AppService } from '../apps/app-service.ts';
import type { DeploymentService } from '../apps/deployment-service.ts';
import { checkAppName } from '../apps/rules.ts';
import { checkVariable, recordVariables } from '../apps/variable-service.ts';
import type { CatalogService } from '../catalog/catalog-service.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import type { Executor } from '../compute/context.ts';
import type { ImageService } from '../compute/image-service.ts';
import type { ImageTemplate, ImageTemplateService } from '../image-templates/image-template-service.ts';
import { InvalidState, NotFound, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { EventService, NewEvent } from '../events/event-service.ts';
import { runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';
import { checkProjectName, membersOf, newProjectRow, projectEvent } from '../projects/project-service.ts';
import type { TaskService } from '../tasks/task-service.ts';
import { orderStatus, type OrderStatus } from './order-status.ts';

/** What an order asks for: a project, where, and its container services. */
export interface OrderInput {
  project_name?: string;
  location_id?: string;
  containers?: ContainerInput[];
}

/**
 * One container service: an image Nimbus has (the built-in one, or one imported or made from a
 * snapshot), the command its web process runs (it must listen on `$PORT`), a container package
 * (its size), its variables, and optionally the app's name (generated otherwise).
 */
export interface ContainerInput {
  image_id?: string;
  package_id?: string;
  command?: string;
  params?: { key?: string; value?: string }[];
  name?: string;
}

export interface OrderContainer {
  position: number;
  image_id: string;
  package_id: string;
  command: string;
  params: { key: string; value: string }[];
  app_id: string;
  app_name: string;
  deployment_id: string;
  deployment_status: string | null;
}

export interface Order {
  id: string;
  organization_id: string;
  project_id: string;
  project_name: string;
  location_id: string;
  status: OrderStatus;
  failures: { position: number; app_name: string; reason: string }[];
  containers: OrderContainer[];
  created_at: string;
  updated_at: string;
}

export const ORDER_LIMITS = { containers: 10, command: 4096, params: 100 } as const;

const listSpec: ListSpec = {
  filters: { project: (query, value) => query.where('project_id', '=', value) },
  searchColumns: ['project_name'],
  orderings: { created_at: 'created_at' },
  defaultOrdering: '-created_at',
  idColumn: 'id',
};

function orderEvent(row: Pick<OrderRow, 'id' | 'organization_id' | 'organization_path' | 'project_id'>, verb: string, actor: Actor, data: Record<string, unknown> = {}): NewEvent {
  return {
    type: `order.${verb}`,
    organizationId: row.organization_id,
    organizationPath: row.organization_path,
    actor: actor.principal.userId,
    resource: { type: 'order', id: row.id },
    data: { project: row.project_id, ...data },
    requestId: actor.requestId,
  };
}

/** An app name for a container the order does not name: the project's name made a host label, its position and a random tail. */
function generatedAppName(projectName: string, position: number): string {
  const base = projectName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 30).replace(/-+$/, '');
  return `${base || 'project'}-${position + 1}-${newId().slice(0, 6)}`;
}

export type OrderService = ReturnType<typeof createOrderService>;

/**
 * Orders: a project with its container services, made at once in one transaction (the
 * project, each app with its variables, formation and queued deployment, and the order), then
 * provisioned by the apps' deployment tasks, which survive a crash. A container service is an
 * app whose release is made from an image (see the deployment service's `fromImage`).
 */
export function createOrderService(deps: {
  store: Store;
  events: EventService;
  tasks: Pick<TaskService, 'cancelPending'>;
  catalog: CatalogService;
  images: Pick<ImageService, 'get'>;
  templates: Pick<ImageTemplateService, 'find'>;
  apps: Pick<AppService, 'newRow' | 'record' | 'beginDelete'>;
  deployments: Pick<DeploymentService, 'fromImage'>;
}) {
  const { store, events, tasks, catalog, images, templates, apps, deployments } = deps;
  const { db } = store;

  const visible = (actor: Actor, executor: Executor = db) => executor.selectFrom('orders').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function findVisible(actor: Actor, id: string, executor: Executor = db): Promise<OrderRow> {
    const row = isUuid(id) ? await visible(actor, executor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('order', 'No order matches the given query.');
    return row;
  }

  /** Orders with their containers and where each deployment stands. */
  async function describe(rows: OrderRow[], executor: Executor = db): Promise<Order[]> {
    if (!rows.length) return [];
    const containers = await executor
      .selectFrom('order_containers')
      .leftJoin('app_deployments', 'app_deployments.id', 'order_containers.deployment_id')
      .leftJoin('tasks', 'tasks.id', 'app_deployments.task_id')
      .selectAll('order_containers')
      .select(['app_deployments.status as deployment_status', 'app_deployments.error as deployment_error', 'tasks.status as task_status', 'tasks.attempts as task_attempts', 'tasks.error as task_error'])
      .where('order_containers.order_id', 'in', rows.map((r) => r.id))
      .orderBy('order_containers.position')
      .execute();
    return rows.map((row) => {
      const own = containers.filter((c) => c.order_id === row.id);
      const outcome = orderStatus(
        row.cancelled_at !== null,
        own.map((c) => ({
          deployment: c.deployment_status ? { status: c.deployment_status, error: c.deployment_error } : null,
          task: c.task_status ? { status: c.task_status, attempts: Number(c.task_attempts), error: c.task_error ? (JSON.parse(c.task_error) as { message: string }).message : null } : null,
        })),
      );
      return {
        id: row.id,
        organization_id: row.organization_id,
        project_id: row.project_id,
        project_name: row.project_name,
        location_id: row.location_id,
        status: outcome.status,
        failures: outcome.failures.map((f) => ({ position: f.position, app_name: own[f.position]!.app_name, reason: f.reason })),
        containers: own.map((c) => ({
          position: Number(c.position),
          image_id: c.image_id,
          package_id: c.package_id,
          command: c.command,
          params: JSON.parse(c.params) as { key: string; value: string }[],
          app_id: c.app_id,
          app_name: c.app_name,
          deployment_id: c.deployment_id,
          deployment_status: c.deployment_status,
        })),
        created_at: row.created_at,
        updated_at: row.updated_at,
      };
    });
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<Order>> {
    assertAllowed(actor, 'order:read');
    const result = await runList<OrderRow>(db, visible(actor), listSpec, request);
    return { ...result, items: await describe(result.items) } as ListResult<Order>;
  }

  async function get(actor: Actor, id: string): Promise<Order> {
    assertAllowed(actor, 'order:read');
    return (await describe([await findVisible(actor, id)]))[0]!;
  }

  /** Runs `check`, keeping a field error it throws in `errors`. */
  async function collect(errors: FieldErrors, check: () => Promise<unknown> | unknown): Promise<void> {
    try {
      await check();
    } catch (error) {
      if (!(error instanceof ValidationFailed)) throw error;
      Object.assign(errors, error.fields);
    }
  }

  /** The image a container names: an image, or an image template (whose image it runs); a field error on `field` otherwise. */
  async function orderedImage(actor: Actor, id: unknown, field: string): Promise<{ imageId: string; template: ImageTemplate | null }> {
    const template = typeof id === 'string' ? await templates.find(actor, id) : null;
    if (template && !template.active) throw ValidationFailed.field(field, 'This image template is not active: it is not offered for new orders.');
    const imageId = template?.image_id ?? id;
    const image = typeof imageId === 'string' ? await images.get(actor, imageId).catch((error: unknown) => {
      if (error instanceof NotFound) return null;
      throw error;
    }) : null;
    if (!image) throw ValidationFailed.field(field, template ? "The image template's image is gone; change the template." : `No image or image template of yours matches "${String(id ?? '')}" (GET /api/images/images/, /api/images/templates/).`);
    if (image.status === 'error') throw ValidationFailed.field(field, 'The image failed to be made; choose another.');
    return { imageId: image.id, template };
  }

  /** Every rule of an order's input, all errors at once. A template gives its command and variables unless the container gives its own, and its minimums bound the package. */
  async function validate(actor: Actor, input: OrderInput): Promise<{ containers: (Required<Omit<ContainerInput, 'params'>> & { params: { key: string; value: string }[]; size: string; root_image_id: string })[] }> {
    const errors: FieldErrors = {};
    checkProjectName(errors, 'project_name', input.project_name);
    await collect(errors, () => catalog.resolveLocation(input.location_id, 'location_id'));
    const containers = Array.isArray(input.containers) ? input.containers : [];
    if (!containers.length || containers.length > ORDER_LIMITS.containers) errors.containers = [`Give 1 to ${ORDER_LIMITS.containers} containers.`];
    const names = new Set<string>();
    const checked = [];
    for (const [i, container] of containers.entries()) {
      const at = `containers[${i}].`;
      if (typeof container !== 'object' || container === null) {
        errors[`containers[${i}]`] = ['Expected an object.'];
        continue;
      }
      let ordered: { imageId: string; template: ImageTemplate | null } = { imageId: '', template: null };
      await collect(errors, async () => (ordered = await orderedImage(actor, container.image_id, `${at}image_id`)));
      const { template } = ordered;
      let size = '';
      await collect(errors, () => {
        const pkg = catalog.resolveContainerPackage(container.package_id, `${at}package_id`);
        size = pkg.name;
        if (template && ((pkg.cpu ?? 0) * 1000 < template.min_cpu_millis || (pkg.memory_bytes ?? 0) < template.min_memory_bytes)) {
          throw ValidationFailed.field(`${at}package_id`, `The image needs at least ${template.min_cpu_millis / 1000} CPU and ${Math.ceil(template.min_memory_bytes / 1024 / 1024)} MiB: choose a larger package.`);
        }
      });
      const command = container.command ?? (template?.command || undefined);
      if (typeof command !== 'string' || command.trim() === '') errors[`${at}command`] = ['This field is required: the shell line the container runs (its web process listens on $PORT).'];
      else if (command.length > ORDER_LIMITS.command || command.includes('\0')) errors[`${at}command`] = [`Ensure this field has no more than ${ORDER_LIMITS.command} characters and no NUL.`];
      const given = container.params ?? [];
      if (!Array.isArray(given) || given.length > ORDER_LIMITS.params) errors[`${at}params`] = [`Give at most ${ORDER_LIMITS.params} params, as a list of {key, value}.`];
      else {
        const keys = new Set<string>();
        for (const [j, param] of given.entries()) {
          const found = checkVariable({ name: param?.key, value: param?.value }, `${at}params[${j}].`);
          for (const [field, messages] of Object.entries(found)) errors[field.replace(/name$/, 'key')] = messages;
          if (typeof param?.key === 'string' && keys.has(param.key)) errors[`${at}params[${j}].key`] = [`"${param.key}" is given twice.`];
          if (typeof param?.key === 'string') keys.add(param.key);
        }
      }
      if (container.name !== undefined) {
        checkAppName(errors, `${at}name`, container.name);
        if (names.has(container.name)) errors[`${at}name`] = ['Another container of this order has this name.'];
        names.add(container.name);
      }
      const own = (Array.isArray(given) ? given : []) as { key: string; value: string }[];
      const defaults = (template?.variables ?? []).filter((v) => !own.some((p) => p.key === v.name)).map((v) => ({ key: v.name, value: v.value }));
      checked.push({ image_id: container.image_id!, root_image_id: ordered.imageId, package_id: container.package_id!, command: command!, params: [...defaults, ...own], name: container.name ?? generatedAppName(String(input.project_name ?? ''), i), size });
    }
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    return { containers: checked };
  }

  /**
   * Places an order. Everything is checked first and then made in one transaction (quotas
   * included), so a refused order leaves nothing behind; the deployments run as tasks.
   */
  async function create(actor: Actor, input: OrderInput): Promise<Order> {
    assertAllowed(actor, 'order:write');
    assertAllowed(actor, 'project:write');
    assertAllowed(actor, 'app:write');
    const { containers } = await validate(actor, input);
    const now = nowIso();
    const project = newProjectRow({ id: actor.organizationId, path: actor.organizationPath }, input.project_name!);
    const order: OrderRow = { id: newId(), organization_id: actor.organizationId, organization_path: actor.organizationPath, project_id: project.id, project_name: project.name, location_id: input.location_id!, requested_by: actor.principal.userId, cancelled_at: null, created_at: now, updated_at: now };
    let position = 0;
    try {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('projects').values(project).execute();
        await events.record(trx, projectEvent(project, 'created', actor, { order: order.id }));
        await trx.insertInto('orders').values(order).execute();
        for (position = 0; position < containers.length; position++) {
          const container = containers[position]!;
          const app = apps.newRow(actor, { name: container.name, stack: 'procfile' });
          await apps.record(trx, actor, app, { order: order.id });
          await recordVariables(trx, app.id, container.params.map((p) => ({ name: p.key, value: p.value })));
          await trx.insertInto('project_members').values({ resource_type: 'app', resource_id: app.id, project_id: project.id, created_at: now }).execute();
          const { deployment } = await deployments.fromImage(trx, actor, app, { imageId: container.root_image_id, command: container.command, size: container.size });
          const row: OrderContainerRow = { order_id: order.id, position, image_id: container.image_id, package_id: container.package_id, command: container.command, params: JSON.stringify(container.params), app_id: app.id, app_name: app.name, deployment_id: deployment.id };
          await trx.insertInto('order_containers').values(row).execute();
        }
        await events.record(trx, orderEvent(order, 'created', actor, { containers: containers.length }));
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw ValidationFailed.field(`containers[${position}].name`, 'is already taken');
      throw error;
    }
    return (await describe([order]))[0]!;
  }

  /**
   * Cancels an order none of whose deployments has started: their tasks are cancelled, its apps
   * deleted, and its project too when nothing else has joined it since. Once provisioning has
   * begun, delete what it made instead.
   */
  async function cancel(actor: Actor, id: string): Promise<Order> {
    assertAllowed(actor, 'order:write');
    const row = await findVisible(actor, id);
    const current = (await describe([row]))[0]!;
    if (current.status !== 'open' && current.status !== 'pending') throw new InvalidState(current.status, ['open', 'pending'], `The order is ${current.status}: only an order whose provisioning has not started can be cancelled.`, 'order');
    assertAllowed(actor, 'app:write');
    await db.transaction().execute(async (trx) => {
      const moved = await trx.updateTable('orders').set({ cancelled_at: nowIso(), updated_at: nowIso() }).where('id', '=', row.id).where('cancelled_at', 'is', null).executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) throw new InvalidState('cancelled', ['open', 'pending'], 'The order is cancelled already.', 'order');
      for (const container of current.containers) {
        await tasks.cancelPending(trx, { type: 'app.deploy', resource: { type: 'app', id: container.app_id } });
        const deployment = await trx.selectFrom('app_deployments').innerJoin('tasks', 'tasks.id', 'app_deployments.task_id').select('tasks.status').where('app_deployments.id', '=', container.deployment_id).executeTakeFirst();
        // A worker took it meanwhile: the whole cancellation is undone.
        if (deployment && deployment.status !== 'cancelled') throw new InvalidState('processing', ['open', 'pending'], 'The order started being provisioned meanwhile; it can no longer be cancelled.', 'order');
        const app: AppRow | undefined = await trx.selectFrom('apps').selectAll().where('id', '=', container.app_id).executeTakeFirst();
        if (app && app.status !== 'deleting') await apps.beginDelete(trx, actor, app);
      }
      const project = await trx.selectFrom('projects').selectAll().where('id', '=', row.project_id).executeTakeFirst();
      const others = project ? (await membersOf(trx, [project.id])).get(project.id)!.filter((m) => !current.containers.some((c) => c.app_id === m.id)) : [];
      if (project && !others.length) {
        await trx.deleteFrom('projects').where('id', '=', project.id).execute();
        await events.record(trx, projectEvent(project, 'deleted', actor, { order: row.id }));
      }
      await events.record(trx, orderEvent(row, 'cancelled', actor));
    });
    return get(actor, id);
  }

  return { list, get, create, cancel };
}

