import type { FastifyInstance } from 'fastify';
import type { Actor } from '../../core/actor.ts';
import type { Project, ProjectMember } from '../../core/projects/project-service.ts';
import type { ProjectState } from '../../core/projects/project-state.ts';
import type { CoreServices } from '../../core/services.ts';
import { rooted } from './errors.ts';
import { pageRequest, paginationHeaders } from './pagination.ts';
import { describeService, renderContainer } from './services.ts';

type ProjectServices = Pick<CoreServices, 'projects' | 'apps'>;

/** ComputeStacks' project states: `ok` for a project at rest, whatever runs in it. */
const PROJECT_STATES: Record<ProjectState, string> = { working: 'working', alert: 'alert', active: 'ok', stopped: 'ok', empty: 'ok' };

const membersOfType = (project: Project, type: ProjectMember['type']) => project.members.filter((m) => m.type === type);

export function renderProject(project: Project) {
  return {
    id: project.id,
    name: project.name,
    skip_ssh: true,
    current_state: PROJECT_STATES[project.state],
    created_at: project.created_at,
    updated_at: project.updated_at,
    container_image_ids: membersOfType(project, 'image').map((m) => m.id),
    links: { services: `/api/projects/${project.id}/services`, container_images: `/api/projects/${project.id}/images` },
    metadata: { icons: [], image_names: membersOfType(project, 'image').map((m) => m.name) },
  };
}

const renderMember = (member: ProjectMember) => ({ id: member.id, name: member.name, label: member.name, current_state: member.status });

/** The project's apps, each with its formation and containers. */
async function projectApps(services: ProjectServices, actor: Actor, project: Project) {
  return Promise.all(membersOfType(project, 'app').map((m) => services.apps.apps.get(actor, m.id)));
}

/**
 * Projects (scope `project_read` to read, `project_write` to rename and delete) and what they
 * hold: services (apps), their containers, images, volumes and events.
 */
export function projectRoutes(app: FastifyInstance, services: ProjectServices): void {
  const { projects } = services;
  const read = { config: { computestacksScope: 'project_read' as const } };
  const write = { config: { computestacksScope: 'project_write' as const } };
  type ById = { Params: { id: string } };

  app.get('/api/projects', read, async (request, reply) => {
    const result = await projects.list(request.actor, pageRequest(request.query as Record<string, unknown>));
    paginationHeaders(reply, result);
    return { projects: result.items.map(renderProject) };
  });

  app.get<ById>('/api/projects/:id', read, async (request) => ({ project: renderProject(await projects.get(request.actor, request.params.id)) }));

  app.patch<ById>('/api/projects/:id', write, async (request) => {
    const name = rooted(request.body, 'project').name;
    return { project: renderProject(await projects.update(request.actor, request.params.id, { name: name as string | undefined })) };
  });

  // ComputeStacks trashes a project with everything in it: its apps are deleted, data (volumes, images) kept.
  app.delete<ById>('/api/projects/:id', write, async (request, reply) => {
    await projects.remove(request.actor, request.params.id, { cascade: true });
    return reply.code(202).send({});
  });

  app.get<ById>('/api/projects/:id/services', read, async (request) => {
    const project = await projects.get(request.actor, request.params.id);
    const owner = { id: project.id, name: project.name };
    return { container_services: await Promise.all((await projectApps(services, request.actor, project)).map((a) => describeService(services, request.actor, a, owner))) };
  });

  app.get<ById>('/api/projects/:id/containers', read, async (request) => {
    const project = await projects.get(request.actor, request.params.id);
    const containers = await Promise.all((await projectApps(services, request.actor, project)).map(async (a) => (await services.apps.formation.containers(request.actor, a.id)).map((row) => renderContainer(a, row, project.id))));
    return { containers: containers.flat() };
  });

  app.get<ById>('/api/projects/:id/images', read, async (request) => ({ container_images: membersOfType(await projects.get(request.actor, request.params.id), 'image').map(renderMember) }));

  app.get<ById>('/api/projects/:id/volumes', read, async (request) => ({ volumes: membersOfType(await projects.get(request.actor, request.params.id), 'volume').map(renderMember) }));

  app.get<ById>('/api/projects/:id/events', read, async (request, reply) => {
    const result = await projects.history(request.actor, request.params.id, pageRequest(request.query as Record<string, unknown>));
    paginationHeaders(reply, result);
    return {
      events: result.items.map((event) => ({ id: event.id, locale: event.type, status: 'completed', notice: false, state_reason: null, event_code: event.type, description: event.type, created_at: event.createdAt, updated_at: event.createdAt })),
    };
  });
}
