import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, fetch as undiciFetch } from 'undici';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addUser, GOOD_PASSWORD } from '../../support/identity.ts';
import { exchange, plainError, scalingoToken, SCALINGO } from './support.ts';

const skip = spawnSync('openssl', ['version']).status === 0 ? null : 'the TLS test makes its certificate with openssl: apt-get install openssl';
const PROXY = '10.0.0.1';

for (const database of testDatabases) {
  describe(`Scalingo is TLS, or nothing, once Nimbus has a certificate [${database.name}]`, { skip: skip ?? false }, () => {
    let app: TestApp;
    let dir: string;
    let jwt: string;
    let own: string;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nimbus-tls-'));
      const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { encoding: 'utf8' });
      assert.equal(made.status, 0, made.stderr);
      app = await startTestApp(database, { surfacePorts: { scalingo: 0 }, tls: { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') }, trustProxy: [PROXY] });
      await addUser(app, 'alice', { role: 'admin' });
      // From this machine, plain HTTP is accepted.
      jwt = await exchange(app, await scalingoToken(app, 'alice', GOOD_PASSWORD));
      own = `127.0.0.1:${(app.nimbus.listeners.own.find((o) => o.surface.name === 'scalingo')!.app.server.address() as AddressInfo).port}`;
    });
    after(async () => {
      await app?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const from = (remoteAddress: string, headers: Record<string, string>, method: 'GET' | 'POST' = 'GET', url = '/v1/users/self', payload?: unknown) =>
      app.nimbus.http.inject({ method, url: `${SCALINGO}${url}`, remoteAddress, headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) }, ...(payload ? { payload: JSON.stringify(payload) } : {}) });

    it('serves HTTPS on its own port, with links in https', async () => {
      const dispatcher = new Agent({ connect: { ca: fs.readFileSync(path.join(dir, 'cert.pem')) } });
      const regions = await undiciFetch(`https://${own}/v1/regions`, { dispatcher });
      assert.equal(regions.status, 200);
      assert.equal(((await regions.json()) as { regions: { api: string }[] }).regions[0]!.api, `https://${own}`);
      const self = await undiciFetch(`https://${own}/v1/users/self`, { dispatcher, headers: { authorization: `Bearer ${jwt}` } });
      assert.equal(self.status, 200);
      await assert.rejects(fetch(`http://${own}/v1/regions`), 'plain HTTP gets no answer on the HTTPS port');
      await dispatcher.close();
    });

    it('refuses credentials sent in clear from elsewhere, before reading them, and makes nothing', async () => {
      const bearer = { authorization: `Bearer ${jwt}` };
      assert.match(plainError(await from('203.0.113.9', bearer), 403), /HTTPS/);
      const password = { authorization: `Basic ${Buffer.from(`alice:${GOOD_PASSWORD}`).toString('base64')}` };
      const tokens = await app.nimbus.store.db.selectFrom('api_tokens').select('id').execute();
      plainError(await from('203.0.113.9', password, 'POST', '/v1/tokens', { token: { name: 'leaked' } }), 403);
      assert.equal((await app.nimbus.store.db.selectFrom('api_tokens').select('id').execute()).length, tokens.length);
      // A capability in a URL (a source's, a logs URL's) is a credential too.
      assert.match(plainError(await from('203.0.113.9', {}, 'GET', '/v1/sources/00000000-0000-4000-8000-000000000000/download?token=v1.a.b.c'), 403), /HTTPS/);
      // Nothing secret travels in a public request.
      assert.equal((await from('203.0.113.9', {}, 'GET', '/v1/regions')).statusCode, 200);
    });

    it('accepts them from this machine, and through a trusted proxy that received them over HTTPS', async () => {
      const bearer = { authorization: `Bearer ${jwt}` };
      assert.equal((await from('127.0.0.1', bearer)).statusCode, 200);
      assert.equal((await from(PROXY, { ...bearer, 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https' })).statusCode, 200);
      plainError(await from(PROXY, { ...bearer, 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'http' }), 403);
      plainError(await from('203.0.113.7', { ...bearer, 'x-forwarded-proto': 'https' }), 403);
    });
  });
}
