import type { Store } from '../../store/database.ts';
import type { ImageTemplateRow } from '../../store/schema.ts';
import { assertAllowed, type Actor } from '../actor.ts';
import { checkVariable } from '../apps/variable-service.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import type { Executor } from '../compute/context.ts';
import type { ImageService } from '../compute/image-service.ts';
import { NotFound, PreconditionFailed, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { EventService, NewEvent } from '../events/event-service.ts';
import { choiceFilter, runList, type ListRequest, type ListResult, type ListSpec } from '../listing.ts';

/** What a template is for, as ComputeStacks classes its images. */
export const ROLE_CLASSES = ['web', 'database', 'cache', 'dev', 'misc'] as const;

export const TEMPLATE_LIMITS = { name: 100, description: 2000, command: 4096, variables: 100, minCpuMillis: 256_000, minMemoryBytes: 1024 ** 4, registryPath: 255 } as const;

const ROLE = /^[a-z0-9][a-z0-9_-]{0,49}$/;
const REGISTRY_PATH = /^[A-Za-z0-9][A-Za-z0-9._/:-]*$/;
const REGISTRY_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface ImageTemplate {
  id: string;
  organization_id: string;
  name: string;
  description: string;
  role: string;
  role_class: string;
  image_id: string;
  command: string;
  min_cpu_millis: number;
  min_memory_bytes: number;
  registry_path: string;
  registry_tag: string;
  variables: { name: string; value: string }[];
  active: boolean;
  can_scale: boolean;
  revision: number;
  created_at: string;
  updated_at: string;
}

/** A template's fields as a create or an update gives them; one left undefined is not given. */
export interface ImageTemplateInput {
  name?: string;
  description?: string;
  role?: string;
  role_class?: string;
  image_id?: string;
  command?: string;
  min_cpu_millis?: number;
  min_memory_bytes?: number;
  registry_path?: string;
  registry_tag?: string;
  variables?: { name?: string; value?: string }[];
  active?: boolean;
  can_scale?: boolean;
}

const listSpec: ListSpec = {
  filters: {
    name: (query, value) => query.where('name', '=', value),
    role_class: choiceFilter('role_class', 'role_class', [...ROLE_CLASSES]),
  },
  searchColumns: ['name', 'description', 'role'],
  orderings: { name: 'name', created_at: 'created_at' },
  defaultOrdering: 'name',
  idColumn: 'id',
};

export function toImageTemplate(row: ImageTemplateRow): ImageTemplate {
  return {
    id: row.id,
    organization_id: row.organization_id,
    name: row.name,
    description: row.description,
    role: row.role,
    role_class: row.role_class,
    image_id: row.image_id,
    command: row.command,
    min_cpu_millis: Number(row.min_cpu_millis),
    min_memory_bytes: Number(row.min_memory_bytes),
    registry_path: row.registry_path,
    registry_tag: row.registry_tag,
    variables: JSON.parse(row.variables) as { name: string; value: string }[],
    active: row.active === 1,
    can_scale: row.can_scale === 1,
    revision: Number(row.revision),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function templateEvent(row: Pick<ImageTemplateRow, 'id' | 'name' | 'organization_id' | 'organization_path'>, verb: string, actor: Actor): NewEvent {
  return { type: `image_template.${verb}`, organizationId: row.organization_id, organizationPath: row.organization_path, actor: actor.principal.userId, resource: { type: 'image_template', id: row.id }, data: { name: row.name }, requestId: actor.requestId };
}

const isWhole = (value: unknown, max: number) => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;

export type ImageTemplateService = ReturnType<typeof createImageTemplateService>;

/**
 * Image templates: what a container runs from an image (ComputeStacks' container images): its
 * command, the least CPU and memory it needs, its default variables, and where its filesystem
 * comes from. An organization's templates are its subtree's; another's are a 404.
 */
export function createImageTemplateService(deps: { store: Store; events: EventService; images: Pick<ImageService, 'get'> }) {
  const { store, events, images } = deps;
  const { db } = store;

  const visible = (actor: Actor, executor: Executor = db) => executor.selectFrom('image_templates').selectAll().where('organization_path', 'like', `${actor.organizationPath}%`);

  async function findVisible(actor: Actor, id: string, executor: Executor = db): Promise<ImageTemplateRow> {
    const row = isUuid(id) ? await visible(actor, executor).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('image_template', 'No image template matches the given query.');
    return row;
  }

  async function list(actor: Actor, request: ListRequest): Promise<ListResult<ImageTemplate>> {
    assertAllowed(actor, 'image:read');
    const result = await runList<ImageTemplateRow>(db, visible(actor), listSpec, request);
    return { ...result, items: result.items.map(toImageTemplate) } as ListResult<ImageTemplate>;
  }

  async function get(actor: Actor, id: string): Promise<ImageTemplate> {
    assertAllowed(actor, 'image:read');
    return toImageTemplate(await findVisible(actor, id));
  }

  /** The template `id` names, or null when none of the acting subtree's does (an order names an image or a template). */
  async function find(actor: Actor, id: string): Promise<ImageTemplate | null> {
    assertAllowed(actor, 'image:read');
    const row = isUuid(id) ? await visible(actor).where('id', '=', id).executeTakeFirst() : undefined;
    return row ? toImageTemplate(row) : null;
  }

  /** Every rule of the fields given, all errors at once; on create the name and image are required. */
  async function validate(actor: Actor, input: ImageTemplateInput, creating: boolean): Promise<void> {
    const errors: FieldErrors = {};
    const text = (field: keyof ImageTemplateInput, max: number, required = false) => {
      const value = input[field];
      if (value === undefined) {
        if (required) errors[field] = ['This field is required.'];
      } else if (typeof value !== 'string') errors[field] = ['Not a valid string.'];
      else if (required && value.trim() === '') errors[field] = ['This field may not be blank.'];
      else if (value.length > max) errors[field] = [`Ensure this field has no more than ${max} characters.`];
      else if (/[\0]/.test(value) || (field === 'name' && /[\p{Cc}\p{Cf}]/u.test(value))) errors[field] = ['Control characters are not allowed.'];
    };
    text('name', TEMPLATE_LIMITS.name, creating || input.name !== undefined);
    text('description', TEMPLATE_LIMITS.description);
    text('command', TEMPLATE_LIMITS.command);
    if (input.role !== undefined && (typeof input.role !== 'string' || (input.role !== '' && !ROLE.test(input.role)))) errors.role = ['Enter at most 50 lowercase letters, digits, hyphens and underscores.'];
    if (input.role_class !== undefined && !(ROLE_CLASSES as readonly unknown[]).includes(input.role_class)) errors.role_class = [`"${String(input.role_class)}" is not a valid choice. Choose from: ${ROLE_CLASSES.join(', ')}.`];
    if (input.min_cpu_millis !== undefined && !isWhole(input.min_cpu_millis, TEMPLATE_LIMITS.minCpuMillis)) errors.min_cpu_millis = [`Enter a whole number of thousandths of a CPU from 0 to ${TEMPLATE_LIMITS.minCpuMillis}.`];
    if (input.min_memory_bytes !== undefined && !isWhole(input.min_memory_bytes, TEMPLATE_LIMITS.minMemoryBytes)) errors.min_memory_bytes = ['Enter a whole number of bytes from 0 to 1 TiB.'];
    if (input.registry_path !== undefined && (typeof input.registry_path !== 'string' || input.registry_path.length > TEMPLATE_LIMITS.registryPath || (input.registry_path !== '' && !REGISTRY_PATH.test(input.registry_path)))) errors.registry_path = ['Enter a registry path such as "library/nginx" (letters, digits, ".", "_", "-", "/" and ":").'];
    if (input.registry_tag !== undefined && (typeof input.registry_tag !== 'string' || !REGISTRY_TAG.test(input.registry_tag))) errors.registry_tag = ['Enter a tag such as "latest" (at most 128 letters, digits, ".", "_" and "-").'];
    for (const flag of ['active', 'can_scale'] as const) if (input[flag] !== undefined && typeof input[flag] !== 'boolean') errors[flag] = ['Must be a valid boolean.'];
    if (input.variables !== undefined) {
      if (!Array.isArray(input.variables) || input.variables.length > TEMPLATE_LIMITS.variables) errors.variables = [`Give at most ${TEMPLATE_LIMITS.variables} variables, as a list of {name, value}.`];
      else {
        for (const [i, variable] of input.variables.entries()) Object.assign(errors, checkVariable({ name: variable?.name, value: variable?.value }, `variables[${i}].`));
        const names = input.variables.map((v) => v?.name);
        if (new Set(names).size !== names.length) errors.variables = ['A name is given twice.'];
      }
    }
    if (input.image_id !== undefined || creating) {
      const image = typeof input.image_id === 'string' ? await images.get(actor, input.image_id).catch((error: unknown) => {
        if (error instanceof NotFound) return null;
        throw error;
      }) : null;
      if (!image) errors.image_id = [`No image of yours matches "${String(input.image_id ?? '')}".`];
      else if (image.status === 'error') errors.image_id = ['The image failed to be made; choose another.'];
    }
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
  }

  async function create(actor: Actor, input: ImageTemplateInput): Promise<ImageTemplate> {
    assertAllowed(actor, 'image:write');
    await validate(actor, input, true);
    const now = nowIso();
    const row: ImageTemplateRow = {
      id: newId(),
      organization_id: actor.organizationId,
      organization_path: actor.organizationPath,
      name: input.name!.trim(),
      description: input.description ?? '',
      role: input.role ?? '',
      role_class: input.role_class ?? 'web',
      image_id: input.image_id!,
      command: input.command ?? '',
      min_cpu_millis: input.min_cpu_millis ?? 0,
      min_memory_bytes: input.min_memory_bytes ?? 0,
      registry_path: input.registry_path ?? '',
      registry_tag: input.registry_tag ?? 'latest',
      variables: JSON.stringify((input.variables ?? []).map((v) => ({ name: v.name, value: v.value }))),
      active: input.active === false ? 0 : 1,
      can_scale: input.can_scale === false ? 0 : 1,
      revision: 1,
      created_at: now,
      updated_at: now,
    };
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('image_templates').values(row).execute();
      await events.record(trx, templateEvent(row, 'created', actor));
    });
    return toImageTemplate(row);
  }

  /** Changes the fields given; `expectedRevision` is If-Match. */
  async function update(actor: Actor, id: string, input: ImageTemplateInput, options: { expectedRevision?: number } = {}): Promise<ImageTemplate> {
    assertAllowed(actor, 'image:write');
    const current = await findVisible(actor, id);
    if (options.expectedRevision !== undefined && options.expectedRevision !== Number(current.revision)) throw new PreconditionFailed();
    await validate(actor, input, false);
    const changes: Partial<ImageTemplateRow> = {
      ...(input.name !== undefined ? { name: input.name.trim() } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.role !== undefined ? { role: input.role } : {}),
      ...(input.role_class !== undefined ? { role_class: input.role_class } : {}),
      ...(input.image_id !== undefined ? { image_id: input.image_id } : {}),
      ...(input.command !== undefined ? { command: input.command } : {}),
      ...(input.min_cpu_millis !== undefined ? { min_cpu_millis: input.min_cpu_millis } : {}),
      ...(input.min_memory_bytes !== undefined ? { min_memory_bytes: input.min_memory_bytes } : {}),
      ...(input.registry_path !== undefined ? { registry_path: input.registry_path } : {}),
      ...(input.registry_tag !== undefined ? { registry_tag: input.registry_tag } : {}),
      ...(input.variables !== undefined ? { variables: JSON.stringify(input.variables.map((v) => ({ name: v.name, value: v.value }))) } : {}),
      ...(input.active !== undefined ? { active: input.active ? 1 : 0 } : {}),
      ...(input.can_scale !== undefined ? { can_scale: input.can_scale ? 1 : 0 } : {}),
    };
    if (!Object.keys(changes).length) return toImageTemplate(current);
    const next: ImageTemplateRow = { ...current, ...changes, revision: Number(current.revision) + 1, updated_at: nowIso() };
    await db.transaction().execute(async (trx) => {
      const result = await trx.updateTable('image_templates').set({ ...changes, revision: next.revision, updated_at: next.updated_at }).where('id', '=', current.id).where('revision', '=', current.revision).executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw new PreconditionFailed('The image template was changed by another request; read it again and retry.');
      await events.record(trx, templateEvent(next, 'updated', actor));
    });
    return toImageTemplate(next);
  }

  async function remove(actor: Actor, id: string): Promise<void> {
    assertAllowed(actor, 'image:write');
    const current = await findVisible(actor, id);
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('image_templates').where('id', '=', current.id).execute();
      await events.record(trx, templateEvent(current, 'deleted', actor));
    });
  }

  return { list, get, find, create, update, remove };
}
