import { Type, type Static } from 'typebox';
import type { Actor } from '../../core/actor.ts';
import type { Environment, EnvironmentMember } from '../../core/environments/environment-service.ts';
import { ENVIRONMENT_ROLES } from '../../core/environments/environment-service.ts';
import type { ServiceConnection } from '../../core/environments/service-connections.ts';
import { NotFound } from '../../core/errors.ts';
import { ROLES } from '../../core/iam/roles.ts';
import { everything } from '../../core/listing.ts';
import type { Organization } from '../../core/organizations/organization-service.ts';
import type { CoreServices } from '../../core/services.ts';
import type { User, UserInput } from '../../core/users/user-service.ts';
import type { FastifyTypeBox } from '../native/types.ts';
import { many, single } from './replies.ts';

type Services = Pick<CoreServices, 'organizations' | 'users' | 'environments' | 'serviceConnections'>;

const Id = Type.String({ maxLength: 200 });
const Ref = Type.Object({ id: Id });
const IdParams = Type.Object({ id: Id });
const Text = (maxLength: number) => Type.Optional(Type.String({ maxLength }));

const OrganizationPost = Type.Object({ name: Type.String({ maxLength: 200 }), entryPoint: Text(100), parent: Type.Optional(Ref) });
const OrganizationPut = Type.Object({ name: Text(200), entryPoint: Text(100), parent: Type.Optional(Ref) });
const RoleRef = Type.Object({ role: Ref });
const UserPost = Type.Object({
  userName: Type.String({ maxLength: 200 }),
  firstName: Text(200),
  lastName: Text(200),
  email: Text(300),
  password: Text(200),
  organization: Type.Optional(Ref),
  primaryRoleBinding: Type.Optional(RoleRef),
});
const UserPut = Type.Partial(Type.Object({ ...UserPost.properties, userName: Type.String({ maxLength: 200 }) }));
const EnvironmentPost = Type.Object({ name: Type.String({ maxLength: 200 }), description: Text(1000), organization: Type.Optional(Ref), serviceConnection: Ref });
const EnvironmentPut = Type.Object({ name: Text(200), description: Text(1000) });
const MemberPost = Type.Object({ user: Ref, role: Ref });
const MemberParams = Type.Object({ id: Id, userId: Id });
const RoleQuery = Type.Object({ filter_scope: Type.Optional(Type.String({ maxLength: 20 })) });

/** Organization roles apply to an organization and everything below it; environment roles to one environment. */
const ENVIRONMENT_ROLE_PREFIX = 'environment-';
const environmentRoleId = (role: string) => `${ENVIRONMENT_ROLE_PREFIX}${role}`;
const environmentRoleName = (id: string) => (id.startsWith(ENVIRONMENT_ROLE_PREFIX) ? id.slice(ENVIRONMENT_ROLE_PREFIX.length) : id);

const organizationRole = (name: string) => ({ id: name, name, isSystem: true, isFixed: true, defaultScope: 'ORG_TREE' });

const renderConnection = (c: ServiceConnection) => ({ id: c.id, serviceCode: c.code, name: c.name, type: c.type });

/** Organization names by id, read once per request; one the caller cannot see shows without a name. */
function organizationNames(organizations: Services['organizations'], actor: Actor) {
  const names = new Map<string, Promise<string>>();
  return (id: string) => {
    if (!names.has(id)) names.set(id, organizations.get(actor, id).then((o) => o.name, (error) => (error instanceof NotFound ? '' : Promise.reject(error))));
    return names.get(id)!;
  };
}

/** Organizations, users, roles, environments and service connections under `/api/v2/`. */
export function administrationRoutes(app: FastifyTypeBox, { organizations, users, environments, serviceConnections }: Services): void {
  const connections = (actor: Actor) => serviceConnections.list(actor).map((c) => ({ id: c.id, serviceCode: c.code }));

  async function renderOrganizations(actor: Actor, list: Organization[]) {
    const nameOf = organizationNames(organizations, actor);
    const environmentIds = await environments.idsByOrganization(list.map((o) => o.id));
    const visible = await everything(organizations.list, actor);
    return Promise.all(
      list.map(async (o) => ({
        id: o.id,
        name: o.name,
        entryPoint: o.slug,
        parent: o.parentId ? { id: o.parentId, name: await nameOf(o.parentId) } : null,
        isReseller: visible.some((child) => child.parentId === o.id),
        tags: [],
        environments: (environmentIds.get(o.id) ?? []).map((id) => ({ id })),
        serviceConnections: connections(actor),
        creationDate: o.createdAt,
      })),
    );
  }

  const organizationInput = (body: Static<typeof OrganizationPut>) => ({ name: body.name, slug: body.entryPoint, parentId: body.parent?.id });

  app.get('/api/v2/organizations', async (request) => many(await renderOrganizations(request.actor, await everything(organizations.list, request.actor))));
  app.get('/api/v2/organizations/:id', { schema: { params: IdParams } }, async (request) => single((await renderOrganizations(request.actor, [await organizations.get(request.actor, request.params.id)]))[0]));
  app.post('/api/v2/organizations', { schema: { body: OrganizationPost } }, async (request) => single((await renderOrganizations(request.actor, [await organizations.create(request.actor, organizationInput(request.body))]))[0]));
  app.put('/api/v2/organizations/:id', { schema: { params: IdParams, body: OrganizationPut } }, async (request) =>
    single((await renderOrganizations(request.actor, [await organizations.update(request.actor, request.params.id, organizationInput(request.body), { partial: true })]))[0]),
  );
  app.delete('/api/v2/organizations/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await organizations.remove(request.actor, request.params.id);
    return reply.code(204).send();
  });

  async function renderUsers(actor: Actor, list: User[]) {
    const nameOf = organizationNames(organizations, actor);
    return Promise.all(
      list.map(async (u) => ({
        id: u.id,
        userName: u.username,
        firstName: u.firstName,
        lastName: u.lastName,
        email: u.email,
        status: u.isActive ? 'ACTIVE' : 'DISABLED',
        organization: { id: u.organizationId, name: await nameOf(u.organizationId) },
        primaryRoleBinding: u.role ? { role: organizationRole(u.role) } : null,
        creationDate: u.createdAt,
        lastLogin: u.lastLogin,
      })),
    );
  }

  const userInput = (body: Static<typeof UserPut>): UserInput => ({
    username: body.userName,
    firstName: body.firstName,
    lastName: body.lastName,
    email: body.email,
    password: body.password,
    organizationId: body.organization?.id,
    role: body.primaryRoleBinding?.role.id,
  });

  app.get('/api/v2/users', async (request) => many(await renderUsers(request.actor, await everything(users.list, request.actor))));
  app.get('/api/v2/users/:id', { schema: { params: IdParams } }, async (request) => single((await renderUsers(request.actor, [await users.get(request.actor, request.params.id)]))[0]));
  app.post('/api/v2/users', { schema: { body: UserPost } }, async (request) => single((await renderUsers(request.actor, [await users.create(request.actor, userInput(request.body))]))[0]));
  app.put('/api/v2/users/:id', { schema: { params: IdParams, body: UserPut } }, async (request) =>
    single((await renderUsers(request.actor, [await users.update(request.actor, request.params.id, userInput(request.body), { partial: true })]))[0]),
  );
  app.delete('/api/v2/users/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await users.remove(request.actor, request.params.id);
    return reply.code(204).send();
  });

  const roles = [
    ...Object.values(ROLES).map((r) => ({ ...organizationRole(r.name), description: r.description, permissions: [...r.permissions].map((p) => ({ id: p, name: p })) })),
    ...Object.entries(ENVIRONMENT_ROLES).map(([name, description]) => ({ id: environmentRoleId(name), name, isSystem: false, isFixed: true, defaultScope: 'ENV', description, permissions: [] })),
  ];
  app.get('/api/v2/roles', { schema: { querystring: RoleQuery } }, async (request) => many(roles.filter((r) => !request.query.filter_scope || r.defaultScope === request.query.filter_scope)));

  const renderEnvironment = (e: Environment) => {
      const connection = serviceConnections.byId(e.serviceConnectionId);
      return {
        id: e.id,
        name: e.name,
        description: e.description,
        organization: { id: e.organizationId, name: e.organizationName, entryPoint: e.organizationSlug },
        serviceConnection: connection ? renderConnection(connection) : { id: e.serviceConnectionId },
        membership: 'MANY_USERS',
        state: 'PROVISIONED',
        creationDate: e.createdAt,
      };
    };
  const renderMember = (m: EnvironmentMember) => ({ user: { id: m.userId, userName: m.username }, role: { id: environmentRoleId(m.role), name: m.role } });

  app.get('/api/v2/environments', async (request) => many((await everything(environments.list, request.actor)).map(renderEnvironment)));
  app.get('/api/v2/environments/:id', { schema: { params: IdParams } }, async (request) => single(renderEnvironment(await environments.get(request.actor, request.params.id))));
  app.post('/api/v2/environments', { schema: { body: EnvironmentPost } }, async (request) => {
    const { name, description, organization, serviceConnection } = request.body;
    return single(renderEnvironment(await environments.create(request.actor, { name, description, organizationId: organization?.id, serviceConnectionId: serviceConnection.id })));
  });
  app.put('/api/v2/environments/:id', { schema: { params: IdParams, body: EnvironmentPut } }, async (request) =>
    single(renderEnvironment(await environments.update(request.actor, request.params.id, request.body, { partial: true }))),
  );
  app.delete('/api/v2/environments/:id', { schema: { params: IdParams } }, async (request, reply) => {
    await environments.remove(request.actor, request.params.id);
    return reply.code(204).send();
  });
  app.get('/api/v2/environments/:id/members', { schema: { params: IdParams } }, async (request) =>
    many((await everything((actor, list) => environments.listMembers(actor, request.params.id, list), request.actor)).map(renderMember)),
  );
  app.post('/api/v2/environments/:id/members', { schema: { params: IdParams, body: MemberPost } }, async (request) =>
    single(renderMember(await environments.addMember(request.actor, request.params.id, { userId: request.body.user.id, role: environmentRoleName(request.body.role.id) }))),
  );
  app.delete('/api/v2/environments/:id/members/:userId', { schema: { params: MemberParams } }, async (request, reply) => {
    await environments.removeMember(request.actor, request.params.id, request.params.userId);
    return reply.code(204).send();
  });

  app.get('/api/v2/services/connections', async (request) => many(serviceConnections.list(request.actor).map(renderConnection)));
  app.get('/api/v2/services/connections/:id', { schema: { params: IdParams } }, async (request) => single(renderConnection(serviceConnections.get(request.actor, request.params.id))));
}
