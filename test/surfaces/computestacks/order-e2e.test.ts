import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../../support/app.ts';
import { computeSkipReason, startComputeTestApp } from '../../support/compute.ts';
import { testDatabases } from '../../support/databases.ts';
import { addZone, dig, digSkipReason, freeDnsPort } from '../../support/dns.ts';
import { eventually } from '../../support/eventually.ts';
import { viaRouter } from '../../support/router.ts';
import { apiCredentials, computestacks } from './support.ts';

const BUILTIN_IMAGE = '00000000-0000-4000-8000-0000000b0500';
const SERVICE = 'cs-order-web';
const HOST = `${SERVICE}.apps.localhost`;
const ZONE = 'cs-order.test';
// busybox's own httpd from the built-in image; the first line is the service's log.
const WEB = 'mkdir -p /tmp/www && echo "$GREETING" > /tmp/www/index.html && echo "serving $GREETING on $PORT" && exec httpd -f -p "$PORT" -h /tmp/www';

const skip = computeSkipReason() ?? (await digSkipReason());

for (const database of testDatabases) {
  // Through the ComputeStacks surface only, but for the zone (ComputeStacks' user API reads zones; Nimbus's native API makes them).
  describe(`a ComputeStacks order followed to completion, on real containers, with its zone answering dig [${database.name}]`, { skip: skip || false, timeout: 600_000 }, () => {
    let app: TestApp;
    let dnsPort: number;
    let pair: { username: string; password: string };
    let serviceId: string;
    before(async () => {
      dnsPort = await freeDnsPort();
      app = await startComputeTestApp(database, { dns: { dnsPort, dnsNameservers: ['ns1.cs-order.test'] } });
      pair = await apiCredentials(app);
    });
    after(async () => {
      await app?.close();
    });

    const cs = (method: 'GET' | 'POST' | 'PUT', path: string, payload?: unknown) => computestacks(app, pair, method, path, payload);
    const containers = async () => (await cs('GET', `/api/container_services/${serviceId}/containers`)).json().containers as { id: string; name: string; current_state: string }[];
    const online = (n: number) => eventually(`${n} containers online`, async () => {
      const now = await containers();
      return now.length === n && now.every((c) => c.current_state === 'online') ? now : undefined;
    }, 120_000);
    const answering = (host: string) => eventually(`${host} answering through the router`, async () => {
      const got = await viaRouter(app, host);
      return got.status === 200 ? got.body.trim() : undefined;
    }, 60_000);

    it('provisions the ordered project from a container image: the order completes and its container service answers HTTP through the apps router', async () => {
      const location = (await cs('GET', '/api/locations')).json().locations[0].id;
      const product = (await cs('GET', '/api/products')).json().products.find((p: { kind: string; name: string }) => p.kind === 'container' && p.name === 'S').id;
      // A container image: the built-in image with the command its containers run and a default variable.
      const image = await cs('POST', '/api/container_images', { container_image: { label: 'Greeter', image_id: BUILTIN_IMAGE, command: WEB, min_memory: 64, env_params_attributes: [{ name: 'GREETING', param_type: 'static', static_value: 'hello from the image' }] } });
      assert.equal(image.statusCode, 201, image.body);
      const placed = await cs('POST', '/api/orders', {
        order: { project_name: 'Ordered shop', location_id: location, containers: [{ image_id: image.json().container_image.id, name: SERVICE, resources: { package_id: product }, params: [{ key: 'GREETING', value: 'hello from a ComputeStacks order' }] }] },
      });
      assert.equal(placed.statusCode, 201, placed.body);
      const completed = await eventually('the order to complete', async () => {
        const order = (await cs('GET', `/api/orders/${placed.json().order.id}`)).json().order;
        assert.notEqual(order.status, 'failed', JSON.stringify(order.failures));
        return order.status === 'completed' ? order : undefined;
      }, 150_000);
      serviceId = completed.order_data.containers[0].container_service_id;
      const service = (await cs('GET', `/api/container_services/${serviceId}`)).json().container_service;
      assert.deepEqual({ state: service.current_state, domain: service.default_domain, package: service.package.label }, { state: 'online', domain: HOST, package: 'S' });
      assert.equal((await cs('GET', `/api/projects/${completed.project.id}`)).json().project.current_state, 'ok');
      assert.equal(await answering(HOST), 'hello from a ComputeStacks order');
    });

    it('scales the service, powers it off and on, and reads its logs', async () => {
      assert.equal((await cs('POST', `/api/container_services/${serviceId}/scale`, { container_service: { qty: 2 } })).statusCode, 202);
      await online(2);
      assert.equal((await cs('PUT', `/api/container_services/${serviceId}/power/stop`)).statusCode, 202);
      await eventually('no container left', async () => ((await containers()).length === 0 ? true : undefined), 120_000);
      await eventually('the router answering 503 while powered off', async () => ((await viaRouter(app, HOST)).status === 503 ? true : undefined), 30_000);
      assert.equal((await cs('PUT', `/api/container_services/${serviceId}/power/start`)).statusCode, 202);
      const [first] = await online(2);
      assert.equal(await answering(HOST), 'hello from a ComputeStacks order');
      const logs = await eventually('the service logging', async () => {
        const lines = (await cs('GET', `/api/container_services/${serviceId}/logs?limit=100`)).json() as [number, string, string][];
        return lines.some(([, , line]) => line.includes('serving hello from a ComputeStacks order')) ? lines : undefined;
      });
      assert.ok(logs.every(([time, name]) => typeof time === 'number' && name.startsWith(`${SERVICE}-`)), JSON.stringify(logs));
      const own = await eventually('the container logging', async () => {
        const lines = (await cs('GET', `/api/containers/${first!.id}/logs`)).json() as [number, string, string][];
        return lines.length ? lines : undefined;
      });
      assert.ok(own.every(([, name]) => name === first!.name), JSON.stringify(own));
    });

    it("serves the project's zone: dig answers its records, and the service answers at the zone's name", async () => {
      const zoneId = await addZone(app, ZONE, [{ name: 'www', type: 'CNAME', hostname: `${HOST}.` }, { name: '@', type: 'A', ip: '127.0.0.1' }]);
      const domain = await app.request({ method: 'POST', url: `/api/apps/apps/${serviceId}/domains/`, payload: { name: `www.${ZONE}` } });
      assert.equal(domain.statusCode, 201, domain.body);
      const zone = (await cs('GET', `/api/zones/${zoneId}`)).json().zone;
      assert.deepEqual(zone.records.CNAME.map((r: { name: string; hostname: string }) => [r.name, r.hostname]), [[`www.${ZONE}`, HOST]]);
      assert.equal(zone.records.SOA.length, 1);
      const cname = await dig(dnsPort, `www.${ZONE}`, 'CNAME');
      assert.equal(cname.status, 'NOERROR', cname.output);
      assert.ok(cname.flags.includes('aa'), cname.output);
      assert.deepEqual(cname.answer.map((r) => r.data), [`${HOST}.`]);
      assert.deepEqual((await dig(dnsPort, ZONE, 'A')).answer.map((r) => r.data), ['127.0.0.1']);
      assert.equal((await dig(dnsPort, ZONE, 'SOA')).answer[0]?.type, 'SOA');
      assert.equal(await answering(`www.${ZONE}`), 'hello from a ComputeStacks order');
    });
  });
}
