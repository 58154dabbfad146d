import { Type } from 'typebox';
import { ROLE_CLASSES } from '../../../core/image-templates/image-template-service.ts';
import { Bytes, Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/images/templates/: what clients send and receive, in the native API's names. */

const Variable = Type.Object({ name: Type.String({ maxLength: 200 }), value: Type.String({ maxLength: 10_000 }) });

const fields = {
  name: Type.String({ maxLength: 200 }),
  description: Type.String({ maxLength: 10_000 }),
  role: Type.String({ maxLength: 200, description: 'What the container is, in a word (nginx, mysql); empty for none.' }),
  role_class: Type.String({ maxLength: 50, description: ROLE_CLASSES.join(', ') }),
  image: Type.String({ maxLength: 200, description: 'The image (root filesystem) it runs on (GET /api/images/images/).' }),
  command: Type.String({ maxLength: 10_000, description: "The shell line its containers run unless their order gives one; a web process listens on $PORT." }),
  min_cpu_millis: Type.Integer({ minimum: 0, description: 'The least CPU a container of it needs, in thousandths of a CPU.' }),
  min_memory: Bytes('The least memory a container of it needs'),
  registry_path: Type.String({ maxLength: 500, description: "Where the image's filesystem comes from, as its publisher names it (kept as given)." }),
  registry_tag: Type.String({ maxLength: 200 }),
  variables: Type.Array(Variable, { maxItems: 1000, description: 'The variables its containers get unless their order says otherwise.' }),
  active: Type.Boolean({ description: 'Offered for new orders.' }),
  can_scale: Type.Boolean(),
};

export const ImageTemplateBody = Type.Object({
  id: Uuid,
  ...fields,
  image: Uuid,
  organization: Uuid,
  revision: Type.Integer(),
  url: Type.String(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const optional = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Type.Optional(v)])) as { [K in keyof typeof fields]: ReturnType<typeof Type.Optional<(typeof fields)[K]>> };

export const ImageTemplatesPost = Type.Object({ ...optional, name: fields.name, image: fields.image });
export const ImageTemplatePatch = Type.Object(optional);
