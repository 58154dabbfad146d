import type { TaskService } from '../../core/tasks/task-service.ts';
import type { FastifyTypeBox } from '../native/types.ts';
import { IdParams, linkTo, listPage, listQuery, paginate, toListRequest } from './conventions.ts';
import { renderTask } from './render.ts';

/** `/tasks`: the acting organization's tasks, newest first, as Scaleway shows them (`pending -> started -> success|failure`). */
export function taskRoutes(app: FastifyTypeBox, tasks: TaskService): void {
  app.get('/tasks', { schema: { querystring: listQuery({}) } }, async (request, reply) => {
    const page = await listPage(toListRequest(request.query), (list) => tasks.list(request.actor, list));
    paginate(request, reply, page);
    return { tasks: page.items.map((task) => renderTask(task, (path) => linkTo(request, path))) };
  });
  app.get('/tasks/:id', { schema: { params: IdParams } }, async (request) => ({ task: renderTask(await tasks.get(request.actor, request.params.id), (path) => linkTo(request, path)) }));
}
