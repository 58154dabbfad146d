import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CREDENTIAL_CACHE_TTL_MS } from '../../src/core/auth/credential-cache.ts';
import { api, processDatabases, startServer, type ServerProcess, type SharedDatabase } from '../support/server-process.ts';

/** Two `nimbus serve` processes over one PostgreSQL database: an OAuth access token revoked through one. */
const postgres = processDatabases.find((d) => d.name === 'postgres')!;

describe('OAuth access token revocation across two nimbus serve processes [postgres]', { skip: postgres.skip }, () => {
  let database: SharedDatabase;
  const servers: ServerProcess[] = [];
  before(async () => {
    database = await postgres.open();
    for (let i = 0; i < 2; i++) servers.push(await startServer(database.env));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.kill('SIGTERM')));
    await database?.cleanup();
  });

  const status = async (server: ServerProcess, token: string) =>
    (await fetch(`${server.url}/api/status/`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) })).status;

  it('stops the token at once on the replica that revoked it, and on the other within the credential cache lifetime', async () => {
    const [first, second] = servers as [ServerProcess, ServerProcess];
    const application = await api(first, database.token, 'POST', '/api/oauth/applications/', { name: 'replicas', redirect_uris: ['https://client.example/cb'], scopes: ['public'] });
    assert.equal(application.status, 201, JSON.stringify(application.json));
    const client = `Basic ${Buffer.from(`${application.json.client_id}:${application.json.client_secret}`).toString('base64')}`;
    const form = (url: string, body: string) =>
      fetch(`${first.url}${url}`, { method: 'POST', headers: { authorization: client, 'content-type': 'application/x-www-form-urlencoded' }, body, signal: AbortSignal.timeout(10_000) });
    const issued = await form('/api/oauth/token', 'grant_type=client_credentials');
    assert.equal(issued.status, 200);
    const { access_token: token } = (await issued.json()) as { access_token: string };
    // Both replicas have verified the token, so both hold it in their credential caches.
    assert.equal(await status(first, token), 200);
    assert.equal(await status(second, token), 200);

    assert.equal((await form('/api/oauth/revoke', `token=${token}&token_type_hint=access_token`)).status, 200);
    const revokedAt = Date.now();
    assert.equal(await status(first, token), 401, 'the replica that revoked it forgets it at once');
    const deadline = revokedAt + CREDENTIAL_CACHE_TTL_MS + 1_000;
    while ((await status(second, token)) === 200) {
      assert.ok(Date.now() <= deadline, `the other replica still accepted the token ${Date.now() - revokedAt} ms after its revocation`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await status(second, token), 401);
    assert.ok(Date.now() - revokedAt <= CREDENTIAL_CACHE_TTL_MS + 1_000);
  });
});
