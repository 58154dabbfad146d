import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../../support/app.ts';
import { testDatabases } from '../../../support/databases.ts';
import { addOrganization, addToken, addUser, type TestUser } from '../../../support/identity.ts';
import { get } from '../compute/support.ts';

const APPS = '/api/apps/apps/';
const ACCEPT = '/api/apps/collaborations/accept/';

for (const database of testDatabases) {
  describe(`app collaborators [${database.name}]`, () => {
    let app: TestApp;
    let alice: TestUser; // admin of A, whose apps team-app and secret-app are
    let viewer: TestUser; // viewer of A
    let carol: TestUser; // member of B, invited to team-app
    let dave: TestUser; // member of B, with another email
    let bob: TestUser; // admin of B
    let orgA: string;
    let token: string;
    let invitationId: string;

    const withEmail = async (user: TestUser, email: string) => {
      const res = await app.request({ method: 'PATCH', url: `/api/iam/users/${user.id}/`, payload: { email } });
      assert.equal(res.statusCode, 200, res.body);
      return user;
    };

    before(async () => {
      app = await startTestApp(database);
      orgA = await addOrganization(app, 'Collab A');
      const orgB = await addOrganization(app, 'Collab B');
      alice = await addUser(app, 'collab-alice', { role: 'admin', organization: orgA });
      viewer = await addUser(app, 'collab-viewer', { role: 'viewer', organization: orgA });
      carol = await withEmail(await addUser(app, 'collab-carol', { role: 'member', organization: orgB }), 'carol@example.com');
      dave = await withEmail(await addUser(app, 'collab-dave', { role: 'member', organization: orgB }), 'dave@example.com');
      bob = await addUser(app, 'collab-bob', { role: 'admin', organization: orgB });
      for (const [name, session] of [['team-app', alice.session], ['secret-app', alice.session], ['carols-own', carol.session]] as const) {
        assert.equal((await app.request({ method: 'POST', url: APPS, token: session, payload: { name } })).statusCode, 201);
      }
    });
    after(() => app.close());

    const collaborators = async (session = alice.session) => (await get(app, `${APPS}team-app/collaborators/`, session)).collaborators as { email: string; status: string; username: string | null }[];
    const status = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, session: string, payload?: object) => app.request({ method, url, token: session, ...(payload ? { payload } : {}) }).then((res) => res.statusCode);

    it('invites by email: a pending collaborator, its token shown once, and an event', async () => {
      const res = await app.request({ method: 'POST', url: `${APPS}team-app/collaborators/`, token: alice.session, payload: { email: ' Carol@Example.COM ' } });
      assert.equal(res.statusCode, 201, res.body);
      const invited = res.json();
      assert.equal(invited.email, 'carol@example.com');
      assert.equal(invited.status, 'pending');
      assert.equal(invited.username, null);
      assert.match(invited.invitation_token, /^nbinv_[\w-]{40,}$/);
      assert.equal(res.headers.location, invited.url);
      token = invited.invitation_token;
      invitationId = invited.id;
      const listed = await app.request({ method: 'GET', url: `${APPS}team-app/collaborators/`, token: alice.session });
      assert.ok(!listed.body.includes(token), 'the token is never shown again');
      const stored = await app.nimbus.store.db.selectFrom('app_collaborators').select('token_hash').where('id', '=', invitationId).executeTakeFirstOrThrow();
      assert.ok(stored.token_hash && !stored.token_hash.includes(token.slice(6)), 'only a hash of the token is kept');
      const events = (await get(app, `/api/events/events/?type=app.new_collaborator`, alice.session)).results;
      assert.equal(events[0].data.email, 'carol@example.com');
    });

    it('refuses a bad email and a second invitation of the same person, changing nothing', async () => {
      for (const email of ['not-an-email', '', 'a@b', `${'x'.repeat(260)}@example.com`]) {
        const res = await app.request({ method: 'POST', url: `${APPS}team-app/collaborators/`, token: alice.session, payload: { email } });
        assert.equal(res.statusCode, 400, `${email}: ${res.body}`);
        assert.ok(res.json().email);
      }
      const again = await app.request({ method: 'POST', url: `${APPS}team-app/collaborators/`, token: alice.session, payload: { email: 'CAROL@example.com' } });
      assert.equal(again.statusCode, 400);
      assert.deepEqual(again.json(), { email: ['is already invited to this app'] });
      assert.deepEqual((await collaborators()).map((c) => c.email), ['carol@example.com']);
    });

    it('gives nothing before acceptance, and accepts only for the invited email, once', async () => {
      assert.equal(await status('GET', `${APPS}team-app/`, carol.session), 404);
      const wrongPerson = await app.request({ method: 'POST', url: ACCEPT, token: dave.session, payload: { token } });
      assert.equal(wrongPerson.statusCode, 403, wrongPerson.body);
      assert.equal(await status('GET', `${APPS}team-app/`, dave.session), 404);
      for (const bogus of ['nbinv_nothing', 'x', `${token}x`]) {
        const res = await app.request({ method: 'POST', url: ACCEPT, token: carol.session, payload: { token: bogus } });
        assert.equal(res.statusCode, 400, res.body);
        assert.ok(res.json().token);
      }
      assert.equal((await collaborators())[0]!.status, 'pending');
      const accepted = await app.request({ method: 'POST', url: ACCEPT, token: carol.session, payload: { token } });
      assert.equal(accepted.statusCode, 200, accepted.body);
      assert.equal(accepted.json().app.name, 'team-app');
      assert.equal(accepted.json().collaborator.status, 'accepted');
      assert.equal(accepted.json().collaborator.username, 'collab-carol');
      assert.equal((await app.request({ method: 'POST', url: ACCEPT, token: carol.session, payload: { token } })).statusCode, 400, 'a token works once');
      assert.deepEqual((await collaborators()).map((c) => [c.email, c.status, c.username]), [['carol@example.com', 'accepted', 'collab-carol']]);
    });

    it("lets the collaborator work on that app, and on nothing else of its organization", async () => {
      assert.equal((await get(app, `${APPS}team-app/`, carol.session)).name, 'team-app');
      const listed = (await get(app, APPS, carol.session)).results.map((a: { name: string }) => a.name).sort();
      assert.deepEqual(listed, ['carols-own', 'team-app']);
      assert.equal(await status('POST', `${APPS}team-app/variables/`, carol.session, { name: 'FROM_CAROL', value: '1' }), 201);
      assert.equal(await status('POST', `${APPS}team-app/domains/`, carol.session, { name: 'team.example.com' }), 201);
      assert.equal(await status('PATCH', `${APPS}team-app/`, carol.session, { health_check_path: '/up' }), 200);
      for (const url of ['formation/', 'variables/', 'domains/', 'deployments/', 'releases/', 'logs/', 'runs/']) assert.equal(await status('GET', `${APPS}team-app/${url}`, carol.session), 200, url);
      for (const url of ['', 'variables/', 'domains/', 'collaborators/']) assert.equal(await status('GET', `${APPS}secret-app/${url}`, carol.session), 404, url);
      // Carol's organization's admin gains nothing from her collaboration.
      for (const url of ['', 'variables/', 'collaborators/']) assert.equal(await status('GET', `${APPS}team-app/${url}`, bob.session), 404, url);
      assert.deepEqual((await get(app, APPS, bob.session)).results.map((a: { name: string }) => a.name), ['carols-own']);
    });

    it('refuses the collaborator what only the organization may do: collaborators, rename, transfer, delete', async () => {
      const otherOrg = (await get(app, '/api/iam/organizations/', carol.session)).results[0].id;
      for (const [method, url, payload] of [
        ['GET', `${APPS}team-app/collaborators/`, undefined],
        ['POST', `${APPS}team-app/collaborators/`, { email: 'friend@example.com' }],
        ['GET', `${APPS}team-app/collaborators/${invitationId}/`, undefined],
        ['DELETE', `${APPS}team-app/collaborators/${invitationId}/`, undefined],
        ['POST', `${APPS}team-app/rename/`, { new_name: 'carols-now' }],
        ['POST', `${APPS}team-app/transfer/`, { organization: otherOrg }],
        ['DELETE', `${APPS}team-app/`, undefined],
      ] as const) {
        assert.equal(await status(method, url, carol.session, payload), 403, `${method} ${url}`);
      }
      const shown = await get(app, `${APPS}team-app/`, alice.session);
      assert.deepEqual([shown.name, shown.organization, shown.status], ['team-app', orgA, 'new']);
      assert.deepEqual((await collaborators()).map((c) => c.email), ['carol@example.com']);
    });

    it("keeps roles and scopes: a scoped token of the collaborator only reads, the organization's viewer cannot invite", async () => {
      const readOnly = await addToken(app, carol.session, ['app:read']);
      assert.equal(await status('GET', `${APPS}team-app/variables/`, readOnly.key), 200);
      assert.equal(await status('POST', `${APPS}team-app/variables/`, readOnly.key, { name: 'SCOPED', value: '1' }), 403);
      const noApps = await addToken(app, carol.session, ['event:read']);
      assert.equal(await status('GET', `${APPS}team-app/`, noApps.key), 403);
      assert.equal(await status('GET', APPS, noApps.key), 403);
      assert.equal(await status('GET', `${APPS}team-app/collaborators/`, viewer.session), 200);
      assert.equal(await status('POST', `${APPS}team-app/collaborators/`, viewer.session, { email: 'viewer-friend@example.com' }), 403);
      assert.equal(await status('DELETE', `${APPS}team-app/collaborators/${invitationId}/`, viewer.session), 403);
    });

    it('removes the collaborator: access ends at once', async () => {
      assert.equal(await status('DELETE', `${APPS}team-app/collaborators/${invitationId}/`, alice.session), 204);
      assert.equal(await status('GET', `${APPS}team-app/`, carol.session), 404);
      assert.equal(await status('POST', `${APPS}team-app/variables/`, carol.session, { name: 'AFTER', value: '1' }), 404);
      assert.deepEqual((await get(app, APPS, carol.session)).results.map((a: { name: string }) => a.name), ['carols-own']);
      const types = (await get(app, `/api/events/events/?page_size=100`, alice.session)).results.map((e: { type: string }) => e.type);
      for (const type of ['app.new_collaborator', 'app.accept_collaborator', 'app.delete_collaborator']) assert.ok(types.includes(type), type);
    });
  });
}
