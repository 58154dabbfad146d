import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser, type TestUser } from '../../support/identity.ts';
import type { RegisteredApplication } from '../../support/oauth.ts';
import { allowPasswordGrant, apiCredentials, computestacks, errorsOf, oauthClient, oauthToken, passwordGrantToken } from './support.ts';

const PROJECTS = '/api/projects/projects/';

for (const database of testDatabases) {
  describe(`ComputeStacks projects, services, locations and products [${database.name}]`, () => {
    let app: TestApp;
    let erin: TestUser;
    let pair: { username: string; password: string };
    let client: RegisteredApplication;
    let projectId: string;
    let appId: string;

    before(async () => {
      app = await startTestApp(database);
      erin = await addUser(app, 'erin', { role: 'admin', organization: await addOrganization(app, 'Erin Co') });
      pair = await apiCredentials(app, erin);
      client = await oauthClient(app);
      await allowPasswordGrant(app, erin.session);
      projectId = (await app.request({ method: 'POST', url: PROJECTS, token: erin.session, payload: { name: 'Shop' } })).json().id;
      await app.request({ method: 'POST', url: PROJECTS, token: erin.session, payload: { name: 'Blog' } });
      appId = (await app.request({ method: 'POST', url: '/api/apps/apps/', token: erin.session, payload: { name: 'shop-front' } })).json().id;
      const added = await app.request({ method: 'POST', url: `${PROJECTS}${projectId}/members/`, token: erin.session, payload: { type: 'app', id: appId } });
      assert.equal(added.statusCode, 201, added.body);
    });
    after(() => app.close());

    it('lists projects ({projects: [...]}, Per-Page and Total) and shows one with its state and links', async () => {
      const res = await computestacks(app, pair, 'GET', '/api/projects?per_page=1');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers.total, '2');
      assert.equal(res.headers['per-page'], '1');
      assert.deepEqual(res.json().projects.map((p: { name: string }) => p.name), ['Blog']);
      const shown = await computestacks(app, pair, 'GET', `/api/projects/${projectId}`);
      const { project } = shown.json();
      assert.equal(project.id, projectId);
      assert.equal(project.name, 'Shop');
      assert.equal(project.current_state, 'ok');
      assert.deepEqual(project.container_image_ids, []);
      assert.equal(project.links.services, `/api/projects/${projectId}/services`);
      assert.equal(typeof project.created_at, 'string');
    });

    it('renames with PATCH {project: {name}}, refuses a bad name with a 422 and changes nothing', async () => {
      const renamed = await computestacks(app, pair, 'PATCH', `/api/projects/${projectId}`, { project: { name: 'Shop 2' } });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assert.equal(renamed.json().project.name, 'Shop 2');
      errorsOf(await computestacks(app, pair, 'PATCH', `/api/projects/${projectId}`, { project: { name: '' } }), 422);
      errorsOf(await computestacks(app, pair, 'PATCH', `/api/projects/${projectId}`, { name: 'x' }), 422);
      assert.equal((await computestacks(app, pair, 'GET', `/api/projects/${projectId}`)).json().project.name, 'Shop 2');
    });

    it("shows a project's services, containers, images, volumes and events", async () => {
      const services = (await computestacks(app, pair, 'GET', `/api/projects/${projectId}/services`)).json().container_services;
      assert.equal(services.length, 1);
      assert.equal(services[0].id, appId);
      assert.deepEqual(services[0].project, { id: projectId, name: 'Shop 2' });
      assert.equal(services[0].current_state, 'working');
      assert.equal(services[0].deployed_containers, 0);
      assert.deepEqual((await computestacks(app, pair, 'GET', `/api/projects/${projectId}/containers`)).json(), { containers: [] });
      assert.deepEqual((await computestacks(app, pair, 'GET', `/api/projects/${projectId}/images`)).json(), { container_images: [] });
      assert.deepEqual((await computestacks(app, pair, 'GET', `/api/projects/${projectId}/volumes`)).json(), { volumes: [] });
      const events = await computestacks(app, pair, 'GET', `/api/projects/${projectId}/events`);
      assert.equal(events.statusCode, 200, events.body);
      assert.ok(events.json().events.some((e: { locale: string }) => e.locale === 'project.renamed'), events.body);
    });

    it('shows container services; one without a release cannot be scaled or powered (422), an unknown action is a 422', async () => {
      const list = await computestacks(app, pair, 'GET', '/api/container_services');
      assert.equal(list.statusCode, 200, list.body);
      assert.equal(list.headers.total, '1');
      const service = (await computestacks(app, pair, 'GET', `/api/container_services/${appId}`)).json().container_service;
      assert.equal(service.name, 'shop-front');
      assert.equal(service.default_domain, 'shop-front.apps.localhost');
      errorsOf(await computestacks(app, pair, 'POST', `/api/container_services/${appId}/scale`, { container_service: { qty: 2 } }), 422);
      errorsOf(await computestacks(app, pair, 'POST', `/api/container_services/${appId}/scale`, { container_service: { qty: -1 } }), 422);
      errorsOf(await computestacks(app, pair, 'PUT', `/api/container_services/${appId}/power/stop`), 422);
      assert.deepEqual(errorsOf(await computestacks(app, pair, 'PUT', `/api/container_services/${appId}/power/explode`), 422), ['Unknown action.', 'Available actions are: start, stop, restart']);
      assert.deepEqual((await computestacks(app, pair, 'GET', `/api/container_services/${appId}/logs`)).json(), []);
      errorsOf(await computestacks(app, pair, 'GET', `/api/containers/${appId}`), 404);
    });

    it('lists the location and the products with prices as decimal strings', async () => {
      const locations = (await computestacks(app, pair, 'GET', '/api/locations')).json().locations;
      assert.equal(locations.length, 1);
      assert.equal(locations[0].name, 'nimbus');
      assert.deepEqual((await computestacks(app, pair, 'GET', `/api/locations/${locations[0].id}`)).json().location, locations[0]);
      errorsOf(await computestacks(app, pair, 'GET', '/api/locations/nowhere'), 404);
      const products = (await computestacks(app, pair, 'GET', '/api/products')).json().products;
      const m = products.find((p: { name: string }) => p.name === 'M');
      assert.deepEqual({ price: m.price, term: m.term, memory: m.memory, cpu: m.cpu, region: m.region }, { price: '10.00', term: 'month', memory: 512, cpu: 1, region: locations[0].id });
    });

    it('requires project_read for projects and services, public for the catalog; client credentials see the catalog only', async () => {
      const dns = await passwordGrantToken(app, client, pair, 'dns_read');
      for (const path of ['/api/projects', `/api/projects/${projectId}`, '/api/container_services', `/api/container_services/${appId}`]) errorsOf(await computestacks(app, dns, 'GET', path), 403);
      const reader = await passwordGrantToken(app, client, pair, 'project_read');
      assert.equal((await computestacks(app, reader, 'GET', '/api/projects')).statusCode, 200);
      assert.equal((await computestacks(app, reader, 'GET', `/api/projects/${projectId}/events`)).statusCode, 200);
      errorsOf(await computestacks(app, reader, 'PATCH', `/api/projects/${projectId}`, { project: { name: 'Nope' } }), 403);
      errorsOf(await computestacks(app, reader, 'DELETE', `/api/container_services/${appId}`), 403);
      const publicToken = (await oauthToken(app, client, { grant_type: 'client_credentials', scope: 'public' })).json().access_token;
      assert.equal((await computestacks(app, publicToken, 'GET', '/api/products')).statusCode, 200);
      assert.equal((await computestacks(app, publicToken, 'GET', '/api/locations')).statusCode, 200);
      for (const path of ['/api/projects', '/api/container_services']) errorsOf(await computestacks(app, publicToken, 'GET', path), 403);
    });

    it("answers 404 for another organization's project and service, whatever the verb", async () => {
      const frank = await addUser(app, 'frank', { role: 'admin', organization: await addOrganization(app, 'Frank Co') });
      const theirs = await apiCredentials(app, frank);
      for (const [method, path, body] of [
        ['GET', `/api/projects/${projectId}`],
        ['PATCH', `/api/projects/${projectId}`, { project: { name: 'Mine' } }],
        ['DELETE', `/api/projects/${projectId}`],
        ['GET', `/api/projects/${projectId}/services`],
        ['GET', `/api/container_services/${appId}`],
        ['POST', `/api/container_services/${appId}/scale`, { container_service: { qty: 1 } }],
        ['PUT', `/api/container_services/${appId}/power/stop`],
        ['DELETE', `/api/container_services/${appId}`],
      ] as const) {
        errorsOf(await computestacks(app, theirs, method, path, body), 404);
      }
      assert.deepEqual((await computestacks(app, theirs, 'GET', '/api/projects')).json(), { projects: [] });
      assert.equal((await computestacks(app, pair, 'GET', `/api/projects/${projectId}`)).json().project.name, 'Shop 2');
    });

    it('deletes a project with 202 {} (its apps with it) and a service with 202 {}', async () => {
      const doomed = (await app.request({ method: 'POST', url: '/api/apps/apps/', token: erin.session, payload: { name: 'doomed-app' } })).json().id;
      const removed = await computestacks(app, pair, 'DELETE', `/api/container_services/${doomed}`);
      assert.equal(removed.statusCode, 202, removed.body);
      assert.deepEqual(removed.json(), {});
      const gone = await computestacks(app, pair, 'DELETE', `/api/projects/${projectId}`);
      assert.equal(gone.statusCode, 202, gone.body);
      assert.deepEqual(gone.json(), {});
      errorsOf(await computestacks(app, pair, 'GET', `/api/projects/${projectId}`), 404);
      assert.equal((await computestacks(app, pair, 'GET', `/api/container_services/${appId}`)).json().container_service.current_state, 'deleting');
    });
  });
}
