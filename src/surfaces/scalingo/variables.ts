import type { FastifyInstance } from 'fastify';
import { ValidationFailed } from '../../core/errors.ts';
import type { CoreServices } from '../../core/services.ts';
import type { AppVariableRow } from '../../store/schema.ts';
import { rooted } from './errors.ts';
import { objectList, optionalString } from './input.ts';

type AppParams = { Params: { app: string } };
type VariableParams = { Params: { app: string; id: string } };

const renderVariable = (v: AppVariableRow) => ({ id: v.id, name: v.name, value: v.value });

const variableInput = (body: Record<string, unknown>) => ({ name: optionalString(body, 'name'), value: optionalString(body, 'value') });

/**
 * An app's environment: list, create (an existing name takes the new value), bulk set with
 * PUT, change, delete one or a bulk of ids. A change makes a release; nothing restarts.
 */
export function variableRoutes(app: FastifyInstance, { apps }: Pick<CoreServices, 'apps'>) {
  const { variables } = apps;

  app.get<AppParams>('/v1/apps/:app/variables', async (request) => ({ variables: (await variables.list(request.actor, request.params.app)).map(renderVariable) }));

  app.post<AppParams>('/v1/apps/:app/variables', async (request, reply) => {
    const made = await variables.create(request.actor, request.params.app, variableInput(rooted(request.body, 'variable')));
    return reply.code(201).send({ variable: renderVariable(made) });
  });

  app.put<AppParams>('/v1/apps/:app/variables', async (request) => {
    const given = objectList((request.body ?? {}) as Record<string, unknown>, 'variables').map(variableInput);
    return { variables: (await variables.bulk(request.actor, request.params.app, given, { replace: false })).map(renderVariable) };
  });

  app.patch<VariableParams>('/v1/apps/:app/variables/:id', async (request) => {
    const { value } = variableInput(rooted(request.body, 'variable'));
    return { variable: renderVariable(await variables.update(request.actor, request.params.app, request.params.id, { value })) };
  });

  app.delete<VariableParams>('/v1/apps/:app/variables/:id', async (request, reply) => {
    await variables.remove(request.actor, request.params.app, [request.params.id]);
    return reply.code(204).send();
  });

  app.delete<AppParams>('/v1/apps/:app/variables', async (request, reply) => {
    const ids = ((request.body ?? {}) as Record<string, unknown>).variable_ids;
    if (!Array.isArray(ids) || !ids.length || ids.some((id) => typeof id !== 'string')) throw ValidationFailed.field('variable_ids', 'must be a list of variable ids');
    await variables.remove(request.actor, request.params.app, ids as string[]);
    return reply.code(204).send();
  });
}
