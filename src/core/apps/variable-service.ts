import type { Transaction } from 'kysely';
import type { Store } from '../../store/database.ts';
import type { AppRow, AppVariableRow, Database } from '../../store/schema.ts';
import type { Actor } from '../actor.ts';
import { isUuid, newId, nowIso } from '../clock.ts';
import { NotFound, ValidationFailed, type FieldErrors } from '../errors.ts';
import type { EventService } from '../events/event-service.ts';
import type { AppService } from './app-service.ts';
import { appEvent } from './context.ts';
import { releaseVariables } from './releases.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const VARIABLE_LIMITS = { name: 64, value: 8192, count: 500 } as const;
/** Set by the platform in every container: a variable cannot override them. */
const RESERVED = new Set(['PORT', 'APP', 'CONTAINER', 'CONTAINER_VERSION', 'HOME', 'PATH']);

export interface VariableInput {
  name?: string;
  value?: string;
}

export type VariableService = ReturnType<typeof createVariableService>;

/**
 * An app's environment variables. Every change makes a new release of the running slug with
 * the new environment (once the app has a release) and restarts nothing: processes see it at
 * their next restart, deployment or scale.
 */
export function createVariableService(deps: { store: Store; events: EventService; apps: AppService }) {
  const { store, events, apps } = deps;
  const { db } = store;

  function check(input: VariableInput, prefix = ''): FieldErrors {
    const errors: FieldErrors = {};
    if (typeof input.name !== 'string' || !NAME.test(input.name)) errors[`${prefix}name`] = ['Enter a name of letters, digits and underscores, not starting with a digit.'];
    else if (input.name.length > VARIABLE_LIMITS.name) errors[`${prefix}name`] = [`Ensure this field has no more than ${VARIABLE_LIMITS.name} characters.`];
    else if (RESERVED.has(input.name)) errors[`${prefix}name`] = [`${input.name} is set by the platform.`];
    if (typeof input.value !== 'string') errors[`${prefix}value`] = ['This field is required.'];
    else if (input.value.length > VARIABLE_LIMITS.value) errors[`${prefix}value`] = [`Ensure this field has no more than ${VARIABLE_LIMITS.value} characters.`];
    return errors;
  }

  async function list(actor: Actor, appRef: string): Promise<AppVariableRow[]> {
    const app = await apps.reach(actor, appRef, 'read');
    return db.selectFrom('app_variables').selectAll().where('app_id', '=', app.id).orderBy('name').execute();
  }

  /** Runs a change of variables with its event and the new release, in one transaction. */
  async function changing<T>(actor: Actor, app: AppRow, type: string, data: Record<string, unknown>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return db.transaction().execute(async (trx) => {
      const result = await work(trx);
      const count = await trx.selectFrom('app_variables').select((eb) => eb.fn.countAll<number>().as('n')).where('app_id', '=', app.id).executeTakeFirstOrThrow();
      if (Number(count.n) > VARIABLE_LIMITS.count) throw ValidationFailed.field('variables', `An app has at most ${VARIABLE_LIMITS.count} variables.`);
      await events.record(trx, appEvent(app, type, actor, data));
      await releaseVariables(trx, app, `${type}: ${JSON.stringify(data.names ?? data.name)}`);
      return result;
    });
  }

  async function upsert(trx: Transaction<Database>, appId: string, input: Required<VariableInput>): Promise<AppVariableRow> {
    const now = nowIso();
    const existing = await trx.selectFrom('app_variables').selectAll().where('app_id', '=', appId).where('name', '=', input.name).executeTakeFirst();
    if (existing) {
      await trx.updateTable('app_variables').set({ value: input.value, updated_at: now }).where('id', '=', existing.id).execute();
      return { ...existing, value: input.value, updated_at: now };
    }
    const row: AppVariableRow = { id: newId(), app_id: appId, name: input.name, value: input.value, created_at: now, updated_at: now };
    await trx.insertInto('app_variables').values(row).execute();
    return row;
  }

  /** One variable; an existing name gets the new value. */
  async function create(actor: Actor, appRef: string, input: VariableInput): Promise<AppVariableRow> {
    const app = await apps.reach(actor, appRef, 'write');
    const errors = check(input);
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    return changing(actor, app, 'new_variable', { name: input.name }, (trx) => upsert(trx, app.id, input as Required<VariableInput>));
  }

  /** Bulk: sets every variable given (others stay), or with `replace` makes the app's variables exactly these. */
  async function bulk(actor: Actor, appRef: string, variables: VariableInput[], { replace }: { replace: boolean }): Promise<AppVariableRow[]> {
    const app = await apps.reach(actor, appRef, 'write');
    const errors: FieldErrors = {};
    for (const [i, variable] of variables.entries()) Object.assign(errors, check(variable, `variables[${i}].`));
    const names = variables.map((v) => v.name);
    if (new Set(names).size !== names.length) errors.variables = ['A name is given twice.'];
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    await changing(actor, app, 'edit_variables', { names, replace }, async (trx) => {
      if (replace) await trx.deleteFrom('app_variables').where('app_id', '=', app.id).where('name', 'not in', names.length ? (names as string[]) : ['']).execute();
      for (const variable of variables) await upsert(trx, app.id, variable as Required<VariableInput>);
    });
    return list(actor, app.id);
  }

  async function findVariable(appId: string, id: string): Promise<AppVariableRow> {
    const row = isUuid(id) ? await db.selectFrom('app_variables').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw new NotFound('variable', 'No variable matches the given query.');
    return row;
  }

  async function update(actor: Actor, appRef: string, id: string, input: { value?: string }): Promise<AppVariableRow> {
    const app = await apps.reach(actor, appRef, 'write');
    const current = await findVariable(app.id, id);
    const errors = check({ name: current.name, value: input.value });
    if (Object.keys(errors).length) throw new ValidationFailed(errors);
    return changing(actor, app, 'edit_variable', { name: current.name }, (trx) => upsert(trx, app.id, { name: current.name, value: input.value! }));
  }

  /** Deletes some variables by id (one, or a bulk delete). */
  async function remove(actor: Actor, appRef: string, ids: string[]): Promise<void> {
    const app = await apps.reach(actor, appRef, 'write');
    const rows = await Promise.all(ids.map((id) => findVariable(app.id, id)));
    await changing(actor, app, 'delete_variable', { names: rows.map((r) => r.name) }, async (trx) => {
      if (rows.length) await trx.deleteFrom('app_variables').where('id', 'in', rows.map((r) => r.id)).execute();
    });
  }

  return { list, create, bulk, update, remove };
}
