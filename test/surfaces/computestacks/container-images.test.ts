import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization, addUser, type TestUser } from '../../support/identity.ts';
import type { RegisteredApplication } from '../../support/oauth.ts';
import { allowPasswordGrant, apiCredentials, computestacks, errorsOf, oauthClient, passwordGrantToken } from './support.ts';

const BUILTIN_IMAGE = '00000000-0000-4000-8000-0000000b0500';

/** The controller's own request spec body ("create an image"), less what Nimbus has no use for, plus the Nimbus image it runs on. */
const SPEC_IMAGE = {
  active: true,
  can_scale: true,
  description: 'Test Image',
  label: 'My Image',
  min_cpu: 1,
  min_memory: 256,
  registry_image_path: 'cmptstks/nginx',
  registry_image_tag: 'latest',
  role: 'nginx',
  role_class: 'web',
  env_params_attributes: [{ name: 'USERNAME', param_type: 'static', static_value: 'admin' }],
  image_id: BUILTIN_IMAGE,
  command: 'exec httpd -f -p "$PORT" -h /etc',
};

for (const database of testDatabases) {
  describe(`ComputeStacks container images [${database.name}]`, () => {
    let app: TestApp;
    let hal: TestUser;
    let pair: { username: string; password: string };
    let viewerPair: { username: string; password: string };
    let otherPair: { username: string; password: string };
    let client: RegisteredApplication;
    let imageId: string;

    before(async () => {
      app = await startTestApp(database);
      hal = await addUser(app, 'cs-hal', { role: 'admin', organization: await addOrganization(app, 'Hal Co') });
      pair = await apiCredentials(app, hal);
      viewerPair = await apiCredentials(app, await addUser(app, 'cs-hal-viewer', { role: 'viewer', token: hal.session }));
      otherPair = await apiCredentials(app, await addUser(app, 'cs-ivy', { role: 'admin', organization: await addOrganization(app, 'Ivy Co') }));
      client = await oauthClient(app);
      await allowPasswordGrant(app, hal.session);
    });
    after(() => app.close());

    it('creates an image (201 {container_image}) as the controller spec does, and shows and lists it', async () => {
      const res = await computestacks(app, pair, 'POST', '/api/container_images', { container_image: SPEC_IMAGE });
      assert.equal(res.statusCode, 201, res.body);
      const image = res.json().container_image;
      imageId = image.id;
      assert.equal(image.label, 'My Image');
      assert.deepEqual(
        { min_cpu: image.min_cpu, min_memory: image.min_memory, path: image.registry_image_path, tag: image.registry_image_tag, role: image.role, role_class: image.role_class, image_id: image.image_id, active: image.active },
        { min_cpu: '1.0', min_memory: 256, path: 'cmptstks/nginx', tag: 'latest', role: 'nginx', role_class: 'web', image_id: BUILTIN_IMAGE, active: true },
      );
      assert.deepEqual(image.container_image_env_params.map((p: { name: string; param_type: string; static_value: string }) => [p.name, p.param_type, p.static_value]), [['USERNAME', 'static', 'admin']]);
      assert.equal(typeof image.created_at, 'string');
      assert.equal((await computestacks(app, pair, 'GET', `/api/container_images/${imageId}`)).json().container_image.id, imageId);
      const list = await computestacks(app, pair, 'GET', '/api/container_images?per_page=5');
      assert.equal(list.headers.total, '1');
      assert.equal(list.headers['per-page'], '5');
      assert.deepEqual(list.json().container_images.map((i: { label: string }) => i.label), ['My Image']);
      // The same template on the native API, in core's units.
      const native = (await app.request({ method: 'GET', url: `/api/images/templates/${imageId}/`, token: hal.session })).json();
      assert.deepEqual({ cpu: native.min_cpu_millis, memory: native.min_memory, image: native.image }, { cpu: 1000, memory: 256 * 1024 * 1024, image: BUILTIN_IMAGE });
    });

    it('updates with PATCH (202 with the image) and fractional CPUs, and deletes with 202 {}', async () => {
      const res = await computestacks(app, pair, 'PATCH', `/api/container_images/${imageId}`, { container_image: { label: 'Wordpress Update', min_cpu: '0.25' } });
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().container_image.label, 'Wordpress Update');
      assert.equal(res.json().container_image.min_cpu, '0.25');
      assert.equal(res.json().container_image.min_memory, 256);
      const extra = (await computestacks(app, pair, 'POST', '/api/container_images', { container_image: { ...SPEC_IMAGE, label: 'deleteme' } })).json().container_image;
      const removed = await computestacks(app, pair, 'DELETE', `/api/container_images/${extra.id}`);
      assert.equal(removed.statusCode, 202, removed.body);
      assert.deepEqual(removed.json(), {});
      errorsOf(await computestacks(app, pair, 'GET', `/api/container_images/${extra.id}`), 404);
    });

    it("refuses bad input with 422 {errors} in ComputeStacks' field names, and changes nothing", async () => {
      const cases: [unknown, RegExp][] = [
        [{ label: 'x' }, /^param is missing or the value is empty: container_image$/],
        [{ container_image: { ...SPEC_IMAGE, label: '' } }, /^label: /],
        [{ container_image: { ...SPEC_IMAGE, image_id: undefined } }, /^image_id: /],
        [{ container_image: { ...SPEC_IMAGE, image_id: '00000000-0000-4000-8000-000000000000' } }, /^image_id: /],
        [{ container_image: { ...SPEC_IMAGE, min_cpu: '0.0001' } }, /^min_cpu: /],
        [{ container_image: { ...SPEC_IMAGE, min_memory: -1 } }, /^min_memory: /],
        [{ container_image: { ...SPEC_IMAGE, role_class: 'robot' } }, /^role_class: /],
        [{ container_image: { ...SPEC_IMAGE, registry_image_tag: 'bad tag' } }, /^registry_image_tag: /],
        [{ container_image: { ...SPEC_IMAGE, env_params_attributes: [{ name: '1BAD', param_type: 'static', static_value: 'x' }] } }, /^env_params_attributes\[0\]\.name: /],
        [{ container_image: { ...SPEC_IMAGE, env_params_attributes: [{ name: 'USERNAME', param_type: 'variable', env_value: 'build.settings.username' }] } }, /^env_params_attributes\[0\]\.param_type: /],
        [{ container_image: { ...SPEC_IMAGE, volumes_attributes: [{ label: 'webdir', mount_path: '/mnt/test' }] } }, /^volumes_attributes: is not supported/],
        [{ container_image: { ...SPEC_IMAGE, colour: 'blue' } }, /^colour: is not kept/],
      ];
      for (const [payload, message] of cases) {
        const messages = errorsOf(await computestacks(app, pair, 'POST', '/api/container_images', payload), 422);
        assert.ok(messages.some((m) => message.test(m)), `${message}: ${JSON.stringify(messages)}`);
      }
      errorsOf(await computestacks(app, pair, 'PATCH', `/api/container_images/${imageId}`, { container_image: { min_cpu: 'lots' } }), 422);
      assert.equal((await computestacks(app, pair, 'GET', '/api/container_images')).headers.total, '1');
      assert.equal((await computestacks(app, pair, 'GET', `/api/container_images/${imageId}`)).json().container_image.min_cpu, '0.25');
    });

    it("keeps another organization's images to itself (404) and never lists them", async () => {
      for (const method of ['GET', 'DELETE'] as const) errorsOf(await computestacks(app, otherPair, method, `/api/container_images/${imageId}`), 404);
      errorsOf(await computestacks(app, otherPair, 'PATCH', `/api/container_images/${imageId}`, { container_image: { label: 'Mine now' } }), 404);
      assert.deepEqual((await computestacks(app, otherPair, 'GET', '/api/container_images')).json().container_images, []);
      // Another organization's Nimbus image cannot be named either.
      const theirs = (await computestacks(app, otherPair, 'POST', '/api/container_images', { container_image: SPEC_IMAGE })).json().container_image;
      errorsOf(await computestacks(app, pair, 'GET', `/api/container_images/${theirs.id}`), 404);
      assert.equal((await computestacks(app, pair, 'GET', `/api/container_images/${imageId}`)).json().container_image.label, 'Wordpress Update');
    });

    it('enforces images_read and images_write; viewers only read', async () => {
      const readOnly = await passwordGrantToken(app, client, pair, 'images_read');
      assert.equal((await computestacks(app, readOnly, 'GET', '/api/container_images')).statusCode, 200);
      errorsOf(await computestacks(app, readOnly, 'POST', '/api/container_images', { container_image: SPEC_IMAGE }), 403);
      errorsOf(await computestacks(app, readOnly, 'DELETE', `/api/container_images/${imageId}`), 403);
      const other = await passwordGrantToken(app, client, pair, 'project_read');
      errorsOf(await computestacks(app, other, 'GET', '/api/container_images'), 403);
      errorsOf(await computestacks(app, viewerPair, 'POST', '/api/container_images', { container_image: SPEC_IMAGE }), 403);
      errorsOf(await computestacks(app, viewerPair, 'PATCH', `/api/container_images/${imageId}`, { container_image: { label: 'Viewer' } }), 403);
      assert.equal((await computestacks(app, viewerPair, 'GET', `/api/container_images/${imageId}`)).statusCode, 200);
      const writer = await passwordGrantToken(app, client, pair, 'images_write');
      assert.equal((await computestacks(app, writer, 'PATCH', `/api/container_images/${imageId}`, { container_image: { description: 'by token' } })).statusCode, 202);
      assert.equal((await computestacks(app, pair, 'GET', '/api/container_images')).headers.total, '1');
    });
  });
}
