import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { nowIso } from '../../src/core/clock.ts';
import { InvalidState } from '../../src/core/errors.ts';
import { RetryableError, type TaskHandlerRegistry } from '../../src/core/tasks/handlers.ts';
import type { Database } from '../../src/store/schema.ts';

/**
 * Task types for tests only. `test.sleep` does two recorded side effects with a sleep between
 * them (each in a step, so a re-run after a crash must not repeat them), and logs every
 * execution of its body, so tests can see whether one task ever ran twice at once.
 */
export async function createTestTables(db: Kysely<Database>): Promise<void> {
  await sql`create table if not exists test_side_effects (task_id text not null, step text not null, worker text not null, at text not null)`.execute(db);
  await sql`create table if not exists test_executions (task_id text not null, worker text not null, attempt integer not null, started_at text not null, finished_at text)`.execute(db);
}

export interface SideEffect {
  task_id: string;
  step: string;
  worker: string;
  at: string;
}

export interface Execution {
  task_id: string;
  worker: string;
  attempt: number;
  started_at: string;
  finished_at: string | null;
}

export async function sideEffects(db: Kysely<Database>): Promise<SideEffect[]> {
  return (await sql<SideEffect>`select * from test_side_effects order by at`.execute(db)).rows;
}

export async function executions(db: Kysely<Database>): Promise<Execution[]> {
  return (await sql<Execution>`select * from test_executions order by started_at`.execute(db)).rows;
}

export function registerTestHandlers(registry: TaskHandlerRegistry, db: Kysely<Database>): void {
  const worker = String(process.pid);
  registry.register('test.sleep', {
    userCreatable: true,
    mayCancel: true,
    resourcesOf: (input) => (typeof input.resource === 'string' ? [{ type: 'test', id: input.resource }] : []),
    async run(context) {
      const started = nowIso();
      await sql`insert into test_executions (task_id, worker, attempt, started_at) values (${context.taskId}, ${worker}, ${context.attempt}, ${started})`.execute(db);
      const record = (step: string) => async (trx: Kysely<Database>) => {
        await sql`insert into test_side_effects (task_id, step, worker, at) values (${context.taskId}, ${step}, ${worker}, ${nowIso()})`.execute(trx);
      };
      await context.step('before', record('before'));
      await context.progress(50, 'sleeping');
      await sleep(Number(context.input.ms ?? 100), undefined, { signal: context.signal });
      await context.step('after', record('after'));
      await sql`update test_executions set finished_at = ${nowIso()} where task_id = ${context.taskId} and worker = ${worker} and started_at = ${started}`.execute(db);
      return { worker };
    },
  });
  registry.register('test.flaky', {
    userCreatable: true,
    async run(context) {
      if (context.attempt <= Number(context.input.failures ?? 1)) throw new RetryableError(`attempt ${context.attempt} fails`, 'backend_busy');
      return { attempt: context.attempt };
    },
  });
  registry.register('test.refused', {
    userCreatable: true,
    async run() {
      throw new InvalidState('stopped', ['running'], 'The server should be running.');
    },
  });
}
