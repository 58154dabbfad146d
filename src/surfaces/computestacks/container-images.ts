import type { FastifyInstance } from 'fastify';
import type { ImageTemplate, ImageTemplateInput } from '../../core/image-templates/image-template-service.ts';
import { ValidationFailed } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import { withFieldNames, type FieldNames } from '../../http/field-names.ts';
import { rooted } from './errors.ts';
import { pageRequest, paginationHeaders } from './pagination.ts';

const MIB = 1024 * 1024;

/** ComputeStacks' fields that name core's directly (ComputeStacks name -> core name). */
const PLAIN_FIELDS = { label: 'name', description: 'description', role: 'role', role_class: 'role_class', command: 'command', image_id: 'image_id', registry_image_path: 'registry_path', registry_image_tag: 'registry_tag', active: 'active', can_scale: 'can_scale' } as const;
/** What ComputeStacks clients may send that this server has no use for: refused unless empty or off. */
const UNSUPPORTED = ['ingress_params_attributes', 'setting_params_attributes', 'volumes_attributes', 'volume_attributes', 'dependency_parents', 'registry_auth', 'registry_custom', 'registry_username', 'registry_password', 'container_image_provider_id', 'tag_list', 'is_free', 'override_autoremove'];
/** Core's field names in validation errors as ComputeStacks' (`variables[0].value` -> `env_params_attributes[0].static_value`). */
const COMPUTESTACKS_FIELDS: FieldNames = {
  ...Object.fromEntries(Object.entries(PLAIN_FIELDS).map(([cs, core]) => [core, cs])),
  min_cpu_millis: 'min_cpu',
  min_memory_bytes: 'min_memory',
  variables: 'env_params_attributes',
  'variables[*].name': 'env_params_attributes[*].name',
  'variables[*].value': 'env_params_attributes[*].static_value',
};

const isEmpty = (value: unknown) => value === undefined || value === null || value === false || value === '' || (Array.isArray(value) && value.length === 0);

/** A decimal number of CPUs (`0.5`, `"1.25"`) as thousandths; undefined when it is not one. */
function cpuMillis(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,6}(\.\d{1,3})?$/.test(text)) return undefined;
  const [whole, fraction = ''] = text.split('.');
  return Number(whole) * 1000 + Number(fraction.padEnd(3, '0'));
}

/** Thousandths of a CPU as the decimal ComputeStacks writes (Rails' BigDecimal: `"0.5"`, `"1.0"`). */
function cpuDecimal(millis: number): string {
  const text = String(millis / 1000);
  return text.includes('.') ? text : `${text}.0`;
}

/** `{"container_image": {...}}` as core's input; a field this server cannot honour is refused by name. */
function templateInput(body: unknown): ImageTemplateInput {
  const given = rooted(body, 'container_image');
  const input: Record<string, unknown> = {};
  const refused: Record<string, string[]> = {};
  for (const [field, value] of Object.entries(given)) {
    if (Object.hasOwn(PLAIN_FIELDS, field)) input[PLAIN_FIELDS[field as keyof typeof PLAIN_FIELDS]] = value;
    else if (field === 'min_cpu') input.min_cpu_millis = cpuMillis(value) ?? (refused.min_cpu = ['must be a number of CPUs with at most 3 decimals'], undefined);
    else if (field === 'min_memory') {
      const mb = typeof value === 'string' && /^\d{1,7}$/.test(value) ? Number(value) : value;
      if (typeof mb === 'number' && Number.isInteger(mb) && mb >= 0) input.min_memory_bytes = mb * MIB;
      else refused.min_memory = ['must be a whole number of MB'];
    } else if (field === 'env_params_attributes') {
      if (!Array.isArray(value)) refused.env_params_attributes = ['must be a list'];
      else {
        input.variables = value.map((param: Record<string, unknown> | null, i) => {
          if (param?.param_type !== undefined && param.param_type !== 'static') refused[`env_params_attributes[${i}].param_type`] = ['only static values are supported by this server'];
          return { name: param?.name, value: param?.static_value ?? '' };
        });
      }
    } else if (UNSUPPORTED.includes(field)) {
      if (!isEmpty(value)) refused[field] = ['is not supported by this server: leave it out.'];
    } else refused[field] = ['is not kept by this server'];
  }
  if (Object.keys(refused).length) throw new ValidationFailed(refused);
  return input as ImageTemplateInput;
}

/** A template as ComputeStacks shows a container image: minimums in CPUs (a decimal string) and MB, its variables as static env params. */
export function renderContainerImage(template: ImageTemplate) {
  return {
    id: template.id,
    name: template.name,
    label: template.name,
    description: template.description,
    role: template.role,
    role_class: template.role_class,
    active: template.active,
    can_scale: template.can_scale,
    command: template.command,
    min_cpu: cpuDecimal(template.min_cpu_millis),
    min_memory: Math.ceil(template.min_memory_bytes / MIB),
    registry_image_path: template.registry_path,
    registry_image_tag: template.registry_tag,
    registry_auth: false,
    registry_custom: null,
    image_id: template.image_id,
    is_load_balancer: false,
    is_free: false,
    icon_url: null,
    image_url: null,
    labels: [],
    required_containers: [],
    required_by: [],
    container_image_env_params: template.variables.map((v) => ({ name: v.name, label: v.name, param_type: 'static', static_value: v.value, env_value: null })),
    container_image_setting_params: [],
    created_at: template.created_at,
    updated_at: template.updated_at,
  };
}

/**
 * Container images (scope `images_read` to read, `images_write` to change): Nimbus's image
 * templates, each naming the Nimbus image (`image_id`) its containers run on, the command they
 * run, their minimums and default variables. A change answers 202 with the image, a delete 202 `{}`.
 */
export function containerImageRoutes(app: FastifyInstance, { imageTemplates }: Pick<CoreServices, 'imageTemplates'>): void {
  const read = { config: { computestacksScope: 'images_read' as const } };
  const write = { config: { computestacksScope: 'images_write' as const } };
  type ById = { Params: { id: string } };

  app.get('/api/container_images', read, async (request, reply) => {
    const result = await imageTemplates.list(request.actor, pageRequest(request.query as Record<string, unknown>));
    paginationHeaders(reply, result);
    return { container_images: result.items.map(renderContainerImage) };
  });

  app.get<ById>('/api/container_images/:id', read, async (request) => ({ container_image: renderContainerImage(await imageTemplates.get(request.actor, request.params.id)) }));

  app.post('/api/container_images', write, async (request, reply) => {
    const created = await withFieldNames(COMPUTESTACKS_FIELDS, () => imageTemplates.create(request.actor, templateInput(request.body)));
    return reply.code(201).send({ container_image: renderContainerImage(created) });
  });

  for (const method of ['PATCH', 'PUT'] as const) {
    app.route<ById>({
      method,
      url: '/api/container_images/:id',
      ...write,
      handler: async (request, reply) => {
        const updated = await withFieldNames(COMPUTESTACKS_FIELDS, () => imageTemplates.update(request.actor, request.params.id, templateInput(request.body)));
        return reply.code(202).send({ container_image: renderContainerImage(updated) });
      },
    });
  }

  app.delete<ById>('/api/container_images/:id', write, async (request, reply) => {
    await imageTemplates.remove(request.actor, request.params.id);
    return reply.code(202).send({});
  });
}
