import { Type } from 'typebox';
import type { TaskStatus } from '../../../store/schema.ts';
import { TASK_STATUSES } from '../../../core/tasks/task-service.ts';
import { Timestamp, Uuid } from './common.ts';

/** The wire schemas of /api/tasks/tasks/: what clients send and receive, in the native API's names. */

export const TaskBody = Type.Object({
  id: Uuid,
  type: Type.String({ examples: ['noop'] }),
  status: Type.Unsafe<TaskStatus>(Type.Union(TASK_STATUSES.map((s) => Type.Literal(s)))),
  progress: Type.Object({ percent: Type.Integer({ minimum: 0, maximum: 100 }), message: Type.String() }),
  resources: Type.Array(Type.Object({ type: Type.String(), id: Type.String() }), { description: 'What the task changes.' }),
  input: Type.Record(Type.String(), Type.Unknown()),
  result: Type.Unknown({ description: 'What the handler returned, once succeeded.' }),
  error: Type.Union([
    Type.Object({ code: Type.String(), message: Type.String(), context: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
    Type.Null(),
  ]),
  may_cancel: Type.Boolean(),
  attempts: Type.Integer(),
  requested_by: Type.Union([Uuid, Type.Null()]),
  organization: Uuid,
  request_id: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
  started_at: Type.Union([Timestamp, Type.Null()]),
  finished_at: Type.Union([Timestamp, Type.Null()]),
  url: Type.String({ description: 'Absolute URL of this task.' }),
});

export const TasksPost = Type.Object({
  type: Type.String({ maxLength: 100, description: 'A task type users may create, such as `noop`.' }),
  input: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
});
