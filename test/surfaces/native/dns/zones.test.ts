import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../../../support/app.ts';
import { testDatabases } from '../../../support/databases.ts';
import { addZone } from '../../../support/dns.ts';
import { addOrganization, addToken, addUser } from '../../../support/identity.ts';

const ZONES = '/api/dns/zones/';

for (const database of testDatabases) {
  describe(`DNS zones and records through the native API [${database.name}]`, () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp(database, { dns: { dnsNameservers: ['ns1.nimbus.test', 'ns2.nimbus.test'] } });
    });
    after(async () => {
      await app?.close();
    });

    const records = (zone: string, payload: unknown, method = 'POST') => app.request({ method: method as 'POST', url: `${ZONES}${zone}/records/`, payload: payload as object });
    const zoneOf = async (id: string) => (await app.request({ method: 'GET', url: `${ZONES}${id}/` })).json();

    it('creates a zone with SOA defaults and shows its records grouped by type, SOA and NS included', async () => {
      const res = await app.request({ method: 'POST', url: ZONES, payload: { name: 'Example.NET.' } });
      assert.equal(res.statusCode, 201, res.body);
      const zone = res.json();
      assert.equal(zone.name, 'example.net');
      assert.match(res.headers.location as string, new RegExp(`${ZONES}${zone.id}/$`));
      assert.deepEqual(
        { ttl: zone.default_ttl, ns: zone.primary_ns, email: zone.email, refresh: zone.refresh, retry: zone.retry, expire: zone.expire, minimum: zone.minimum, nameservers: zone.nameservers },
        { ttl: 3600, ns: 'ns1.nimbus.test.', email: 'hostmaster@example.net', refresh: 10800, retry: 3600, expire: 1209600, minimum: 300, nameservers: ['ns1.nimbus.test.', 'ns2.nimbus.test.'] },
      );
      const today = Number(new Date().toISOString().slice(0, 10).replaceAll('-', '')) * 100;
      assert.ok(zone.serial >= today && zone.serial < today + 100, `serial ${zone.serial} is today's`);
      assert.deepEqual(Object.keys(zone.records), ['A', 'AAAA', 'CAA', 'CNAME', 'MX', 'NS', 'PTR', 'SOA', 'SRV', 'TXT']);
      assert.equal(zone.records.SOA[0].serial, zone.serial);
      assert.deepEqual(zone.records.NS.map((r: { hostname: string }) => r.hostname), ['ns1.nimbus.test.', 'ns2.nimbus.test.']);

      const added = await records(zone.id, { name: 'www', type: 'A', ip: '192.0.2.1' });
      assert.equal(added.statusCode, 201, added.body);
      assert.deepEqual({ ...(added.json() as object), id: undefined, url: undefined, created_at: undefined, updated_at: undefined }, {
        id: undefined, url: undefined, created_at: undefined, updated_at: undefined,
        zone: zone.id, name: 'www', type: 'A', ttl: null, ip: '192.0.2.1', fqdn: 'www.example.net.', server: null,
      });
      const after = await zoneOf(zone.id);
      assert.ok(after.serial > zone.serial, 'every change moves the serial on');
      assert.deepEqual(after.records.A.map((r: { ip: string }) => r.ip), ['192.0.2.1']);
      const listed = (await app.request({ method: 'GET', url: `${ZONES}?search=example.net` })).json();
      assert.equal(listed.count, 1);
      assert.equal(listed.results[0].records, undefined, 'a list shows zones without their records');

      assert.equal((await app.request({ method: 'POST', url: ZONES, payload: { name: 'example.net' } })).statusCode, 409);
      for (const name of ['com', 'exa mple.com', '-bad.com', 'a..b.com', `${'x'.repeat(64)}.com`, 'bücher.de', '']) {
        const bad = await app.request({ method: 'POST', url: ZONES, payload: { name } });
        assert.equal(bad.statusCode, 400, name);
        assert.ok(bad.json().name, `${name}: ${bad.body}`);
      }
      const badSoa = await app.request({ method: 'POST', url: ZONES, payload: { name: 'soa.test', email: 'nobody', refresh: 0, secondaries: ['10.0.0.1:99999', 'host.example'] } });
      assert.equal(badSoa.statusCode, 400);
      assert.deepEqual(Object.keys(badSoa.json()).sort(), ['email', 'refresh', 'secondaries']);
    });

    it('validates every record type, with a message on the field at fault', async () => {
      const zone = await addZone(app, 'checks.test');
      const cases: [object, string, RegExp][] = [
        [{ name: 'a', type: 'A', ip: '300.1.1.1' }, 'ip', /IPv4/],
        [{ name: 'a', type: 'A', ip: '2001:db8::1' }, 'ip', /IPv4/],
        [{ name: 'a', type: 'A' }, 'ip', /required/],
        [{ name: 'a', type: 'AAAA', ip: '192.0.2.1' }, 'ip', /IPv6/],
        [{ name: 'c', type: 'CNAME', hostname: 'bad..name' }, 'hostname', /empty labels/],
        [{ name: 'm', type: 'MX', priority: 70000, hostname: 'mail' }, 'priority', /0 and 65535/],
        [{ name: 'm', type: 'MX', priority: 10, hostname: 'mail_server' }, 'hostname', /host name/],
        [{ name: 'm', type: 'MX', priority: 10, hostname: '.' }, 'hostname', /null MX/],
        [{ name: 't', type: 'TXT', value: 'é'.repeat(4500) }, 'value', /8192 bytes/],
        [{ name: 't', type: 'TXT' }, 'value', /required/],
        [{ name: '_sip._tcp', type: 'SRV', priority: 1, weight: 1, port: 65536, hostname: 'sip' }, 'port', /0 and 65535/],
        [{ name: '_sip._tcp', type: 'SRV', priority: 1, weight: -1, port: 5060, hostname: 'sip' }, 'weight', /0 and 65535/],
        [{ name: 'sip', type: 'SRV', priority: 1, weight: 1, port: 5060, hostname: 'sip' }, 'name', /_service\._protocol/],
        [{ name: '@', type: 'CAA', flags: 1, tag: 'issue', value: 'ca.example' }, 'flags', /128/],
        [{ name: '@', type: 'CAA', flags: 0, tag: 'policy', value: 'x' }, 'tag', /not a valid choice/],
        [{ name: '@', type: 'CAA', flags: 0, tag: 'issue', value: 'not a domain!' }, 'value', /issuer domain/],
        [{ name: '@', type: 'CAA', flags: 0, tag: 'iodef', value: 'ftp://x' }, 'value', /mailto/],
        [{ name: 'd', type: 'NS', hostname: 'ns_1.example.net.' }, 'hostname', /host name/],
        [{ name: 'p', type: 'PTR', hostname: '' }, 'hostname', /required/],
        [{ name: 'x', type: 'HINFO' }, 'type', /not a valid choice/],
        [{ name: 'a', type: 'A', ip: '192.0.2.1', ttl: -5 }, 'ttl', /whole number/],
        [{ name: 'a', type: 'A', ip: '192.0.2.1', hostname: 'x' }, 'hostname', /A record has no hostname/],
        [{ name: 'www.elsewhere.org.', type: 'A', ip: '192.0.2.1' }, 'name', /not inside the zone checks\.test/],
        [{ name: 'a.*', type: 'A', ip: '192.0.2.1' }, 'name', /leftmost/],
      ];
      const serial = (await zoneOf(zone)).serial;
      for (const [payload, field, message] of cases) {
        const res = await records(zone, payload);
        assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
        assert.match(res.json()[field]?.join(' ') ?? '', message, `${JSON.stringify(payload)}: ${res.body}`);
      }
      assert.equal((await zoneOf(zone)).serial, serial, 'refused input changes nothing');
      assert.equal((await app.request({ method: 'GET', url: `${ZONES}${zone}/records/` })).json().count, 0);
    });

    it('keeps a CNAME alone at its name, off the apex, and leaves the apex NS records to the deployment', async () => {
      const zone = await addZone(app, 'rules.test', [{ name: 'www', type: 'A', ip: '192.0.2.1' }, { name: 'alias', type: 'CNAME', hostname: 'www' }]);
      const beside = await records(zone, { name: 'www', type: 'CNAME', hostname: 'elsewhere.example.' });
      assert.equal(beside.statusCode, 400);
      assert.match(beside.json().non_field_errors[0], /CNAME must be the only record/);
      assert.equal((await records(zone, { name: 'alias', type: 'TXT', value: 'x' })).statusCode, 400);
      assert.match((await records(zone, { name: '@', type: 'CNAME', hostname: 'www' })).json().non_field_errors.join(' '), /apex/);
      assert.match((await records(zone, { name: '@', type: 'NS', hostname: 'ns.example.org.' })).json().non_field_errors.join(' '), /deployment's name servers/);
      assert.match((await records(zone, { name: 'www', type: 'A', ip: '192.0.2.1' })).json().non_field_errors.join(' '), /already holds/);
      assert.equal((await records(zone, { name: 'shop', type: 'NS', hostname: 'ns.shop' })).statusCode, 201);
      assert.match((await records(zone, { name: 'x.shop', type: 'TXT', value: 'hidden' })).json().non_field_errors.join(' '), /delegation/);
      assert.equal((await records(zone, { name: 'ns.shop', type: 'A', ip: '192.0.2.53' })).statusCode, 201, 'glue is allowed');
    });

    it('changes records with PATCH and PUT, honouring If-Match', async () => {
      const zone = await addZone(app, 'edits.test');
      const created = await records(zone, { name: 'mail', type: 'MX', priority: 10, hostname: 'mx1' });
      const url = `${ZONES}${zone}/records/${created.json().id}/`;
      const patched = await app.request({ method: 'PATCH', url, payload: { priority: 20 } });
      assert.equal(patched.statusCode, 200, patched.body);
      assert.deepEqual([patched.json().priority, patched.json().hostname], [20, 'mx1.edits.test.']);
      const stale = await app.request({ method: 'PATCH', url, payload: { priority: 30 }, headers: { 'if-match': created.headers.etag as string } });
      assert.equal(stale.statusCode, 412);
      const replaced = await app.request({ method: 'PUT', url, payload: { name: 'mail', type: 'TXT', value: 'now text' }, headers: { 'if-match': patched.headers.etag as string } });
      assert.equal(replaced.statusCode, 200, replaced.body);
      assert.deepEqual([replaced.json().type, replaced.json().value, replaced.json().priority], ['TXT', 'now text', undefined]);
      const typeChange = await app.request({ method: 'PATCH', url, payload: { type: 'A' } });
      assert.match(typeChange.json().ip.join(' '), /required/, 'a new type needs its own fields');
    });

    it('replaces every record in one change, or changes nothing', async () => {
      const zone = await addZone(app, 'bulk.test', [{ name: 'old', type: 'A', ip: '192.0.2.1' }]);
      const before = (await zoneOf(zone)).serial;
      const bad = await records(zone, { records: [{ name: 'a', type: 'A', ip: '192.0.2.1' }, { name: 'b', type: 'MX', priority: 'x', hostname: 'm' }, { name: 'c', type: 'A', ip: 'nope' }] }, 'PUT');
      assert.equal(bad.statusCode, 400);
      assert.ok(bad.json()['records[2].ip'] || bad.json()['records.1.priority'] || Object.keys(bad.json()).length, bad.body);
      const conflicting = await records(zone, { records: [{ name: 'a', type: 'A', ip: '192.0.2.1' }, { name: 'a', type: 'CNAME', hostname: 'b' }] }, 'PUT');
      assert.equal(conflicting.statusCode, 400);
      assert.ok(conflicting.json()['records[1]'], conflicting.body);
      assert.equal((await zoneOf(zone)).serial, before);
      const replaced = await records(zone, { records: [{ name: 'a', type: 'A', ip: '192.0.2.1' }, { name: 'b', type: 'AAAA', ip: '2001:db8::b' }, { name: '@', type: 'TXT', value: 'hello' }] }, 'PUT');
      assert.equal(replaced.statusCode, 200, replaced.body);
      assert.equal(replaced.json().serial, before + 1, 'one change, one serial');
      assert.deepEqual(replaced.json().records.A.map((r: { name: string }) => r.name), ['a']);
      assert.equal(replaced.json().records.AAAA.length, 1);
    });

    it('exports a zone file and imports one back, reporting bad lines', async () => {
      const zone = await addZone(app, 'files.test', [
        { name: '@', type: 'MX', priority: 5, hostname: 'mx' },
        { name: 'mx', type: 'A', ip: '192.0.2.5', ttl: 120 },
        { name: '@', type: 'TXT', value: `quote " and backslash \\ ${'y'.repeat(300)}` },
        { name: '@', type: 'CAA', flags: 128, tag: 'issue', value: 'ca.example; account=1' },
        { name: '_xmpp._tcp', type: 'SRV', priority: 0, weight: 0, port: 5222, hostname: 'mx' },
      ]);
      const exported = await app.request({ method: 'GET', url: `${ZONES}${zone}/export/` });
      assert.equal(exported.statusCode, 200);
      assert.match(exported.headers['content-type'] as string, /^text\/dns/);
      assert.match(exported.body, /^\$ORIGIN files\.test\.\n\$TTL 3600\n@\s+IN SOA\s+ns1\.nimbus\.test\. hostmaster\.files\.test\. \d+ 10800 3600 1209600 300\n/);
      assert.match(exported.body, /mx\s+120 IN A\s+192\.0\.2\.5/);
      const copy = await addZone(app, 'copy.test');
      const imported = await app.request({ method: 'POST', url: `${ZONES}${copy}/import/`, payload: { zone_file: exported.body.replaceAll('files.test.', 'copy.test.') } });
      assert.equal(imported.statusCode, 200, imported.body);
      const original = await zoneOf(zone);
      const strip = (z: { records: Record<string, { name: string; type: string; ttl?: number; value?: string; hostname?: string }[]> }) =>
        Object.values(z.records).flat().map((r) => `${r.name} ${r.type} ${r.ttl ?? ''} ${r.value ?? ''} ${r.hostname?.replace('files.test', 'copy.test') ?? ''}`).filter((r) => !r.includes(' SOA ')).sort();
      assert.deepEqual(strip(imported.json()), strip(original));

      const file = [
        '$TTL 1h',
        '@ IN SOA ns.old.example. admin.copy.test. ( 1 7200 900 604800',
        '   600 ) ; multi-line',
        '@ NS ns.old.example.',
        'www 300 IN A 192.0.2.80',
        '    IN AAAA 2001:db8::80 ; same owner',
        'txt TXT "part one " "part two"',
        '$ORIGIN sub.copy.test.',
        'deep A 192.0.2.81',
      ].join('\n');
      const second = await app.request({ method: 'POST', url: `${ZONES}${copy}/import/`, payload: { zone_file: file } });
      assert.equal(second.statusCode, 200, second.body);
      const result = second.json();
      assert.deepEqual([result.default_ttl, result.refresh, result.retry, result.minimum, result.email], [3600, 7200, 900, 600, 'admin@copy.test']);
      assert.deepEqual(result.records.A.map((r: { fqdn: string; ttl: number }) => [r.fqdn, r.ttl]).sort(), [['deep.sub.copy.test.', null], ['www.copy.test.', 300]]);
      assert.equal(result.records.AAAA[0].name, 'www');
      assert.equal(result.records.TXT[0].value, 'part one part two');
      assert.deepEqual(result.records.NS.map((r: { hostname: string }) => r.hostname), ['ns1.nimbus.test.', 'ns2.nimbus.test.'], "the file's apex NS are the deployment's");

      const broken = await app.request({ method: 'POST', url: `${ZONES}${copy}/import/`, payload: { zone_file: 'ok A 192.0.2.1\nbad A 999.1.1.1\n$INCLUDE other\nweird LOC 1 2 3\nopen TXT ( "x"\n' } });
      assert.equal(broken.statusCode, 400);
      const lines = broken.json().zone_file[0];
      assert.match(lines, /line 2: ip: Enter a valid IPv4 address/);
      assert.match(lines, /line 3: \$INCLUDE is not supported/);
      assert.match(lines, /line 4: LOC records are not supported/);
      assert.match(lines, /line 5: the parenthesis opened here is never closed/);
      assert.equal((await zoneOf(copy)).records.A.length, 2, 'a refused import changes nothing');
    });

    it("hides other organizations' zones (404) and refuses names inside them", async () => {
      const parentZone = await addZone(app, 'corp.test', [{ name: 'www', type: 'A', ip: '192.0.2.1' }]);
      const team = await addOrganization(app, 'DNS team');
      const teamAdmin = await addUser(app, 'dns-team-admin', { organization: team, role: 'owner' });
      const asTeam = (method: string, url: string, payload?: object) => app.request({ method: method as 'GET', url, payload, token: teamAdmin.session });
      for (const [method, url] of [['GET', `${ZONES}${parentZone}/`], ['PATCH', `${ZONES}${parentZone}/`], ['DELETE', `${ZONES}${parentZone}/`], ['GET', `${ZONES}${parentZone}/records/`], ['POST', `${ZONES}${parentZone}/records/`], ['PUT', `${ZONES}${parentZone}/records/`], ['GET', `${ZONES}${parentZone}/export/`], ['POST', `${ZONES}${parentZone}/import/`]] as const) {
        const res = await asTeam(method, url, method === 'GET' || method === 'DELETE' ? undefined : { records: [], zone_file: '', name: 'x', type: 'A', ip: '192.0.2.9' });
        assert.equal(res.statusCode, 404, `${method} ${url}: ${res.body}`);
      }
      const recordId = (await zoneOf(parentZone)).records.A[0].id;
      assert.equal((await asTeam('DELETE', `${ZONES}${parentZone}/records/${recordId}/`)).statusCode, 404);
      const inside = await asTeam('POST', ZONES, { name: 'www.corp.test' });
      assert.equal(inside.statusCode, 400);
      assert.match(inside.json().name[0], /inside corp\.test, a zone of another organization/);
      assert.equal((await asTeam('POST', ZONES, { name: 'test.corp.test' })).statusCode, 400);
      const teamZone = await asTeam('POST', ZONES, { name: 'team.example' });
      assert.equal(teamZone.statusCode, 201, teamZone.body);
      // The parent sees its sub-organization's zones; the team does not see the parent's.
      assert.ok((await app.request({ method: 'GET', url: ZONES })).json().results.some((z: { id: string }) => z.id === teamZone.json().id));
      assert.ok(!(await asTeam('GET', ZONES)).json().results.some((z: { id: string }) => z.id === parentZone));
      const holding = await app.request({ method: 'POST', url: ZONES, payload: { name: 'example' } });
      assert.equal(holding.statusCode, 400, 'a single label is no zone');
      const claimParent = await asTeam('POST', ZONES, { name: 'big.team.example' });
      assert.equal(claimParent.statusCode, 201, 'an organization nests its own zones');
    });

    it('checks permissions and token scopes', async () => {
      const zone = await addZone(app, 'perms.test');
      const viewer = await addUser(app, 'dns-viewer', { role: 'viewer' });
      assert.equal((await app.request({ method: 'GET', url: `${ZONES}${zone}/`, token: viewer.session })).statusCode, 200);
      const refused = await app.request({ method: 'POST', url: `${ZONES}${zone}/records/`, payload: { name: 'a', type: 'A', ip: '192.0.2.1' }, token: viewer.session });
      assert.equal(refused.statusCode, 403);
      assert.equal((await app.request({ method: 'POST', url: ZONES, payload: { name: 'viewer.test' }, token: viewer.session })).statusCode, 403);
      const readOnly = await addToken(app, app.token, ['dns_zone:read', 'dns_record:read']);
      assert.equal((await app.request({ method: 'GET', url: `${ZONES}${zone}/records/`, token: readOnly.key })).statusCode, 200);
      const scoped = await app.request({ method: 'DELETE', url: `${ZONES}${zone}/`, token: readOnly.key });
      assert.equal(scoped.statusCode, 403);
      assert.equal(scoped.json().code, 'api_token_acl_not_allowed');
    });

    it("counts quotas over an organization's whole subtree", async () => {
      const parent = await addOrganization(app, 'Quota parent');
      const child = await addOrganization(app, 'Quota child', { parent });
      assert.equal((await app.request({ method: 'PATCH', url: `/api/iam/organizations/${parent}/quotas/`, payload: { dns_zones: 2, dns_records: 3 } })).statusCode, 200);
      await addZone(app, 'one.quota.test', [{ name: 'a', type: 'A', ip: '192.0.2.1' }, { name: 'b', type: 'A', ip: '192.0.2.2' }], {}, `?org_id=${parent}`);
      const childZone = await addZone(app, 'two.quota.test', [{ name: 'c', type: 'A', ip: '192.0.2.3' }], {}, `?org_id=${child}`);
      const third = await app.request({ method: 'POST', url: `${ZONES}?org_id=${child}`, payload: { name: 'three.quota.test' } });
      assert.equal(third.statusCode, 403, third.body);
      assert.equal(third.json().code, 'quota_exceeded');
      const record = await app.request({ method: 'POST', url: `${ZONES}${childZone}/records/?org_id=${child}`, payload: { name: 'd', type: 'A', ip: '192.0.2.4' } });
      assert.equal(record.statusCode, 403, record.body);
      const replace = await app.request({ method: 'PUT', url: `${ZONES}${childZone}/records/?org_id=${child}`, payload: { records: [{ name: 'x', type: 'A', ip: '192.0.2.9' }] } });
      assert.equal(replace.statusCode, 200, 'replacing one record by another stays within the quota');
    });

    it('audits every change and puts it on the events stream', async () => {
      const zone = await addZone(app, 'audit.test', [{ name: 'www', type: 'A', ip: '192.0.2.1' }]);
      await app.request({ method: 'PATCH', url: `${ZONES}${zone}/`, payload: { default_ttl: 600 } });
      await app.request({ method: 'DELETE', url: `${ZONES}${zone}/` });
      const events = (await app.request({ method: 'GET', url: '/api/events/events/?type=dns_*' })).json();
      void events;
      const types = (await app.request({ method: 'GET', url: `/api/events/events/?resource=${zone}&page_size=100` })).json().results.map((e: { type: string }) => e.type);
      assert.deepEqual(types.sort(), ['dns_zone.created', 'dns_zone.deleted', 'dns_zone.updated']);
      const recordEvents = (await app.request({ method: 'GET', url: '/api/events/events/?type=dns_record.*&page_size=100' })).json().results;
      assert.ok(recordEvents.some((e: { data: { zone: string; name: string } }) => e.data.zone === 'audit.test' && e.data.name === 'www.audit.test'));
      const audit = (await app.request({ method: 'GET', url: `/api/audit/activity/?target_id=${zone}&page_size=100` })).json().results.map((e: { action: string }) => e.action);
      assert.deepEqual(audit.sort(), ['dns_records_changed', 'dns_zone_created', 'dns_zone_deleted', 'dns_zone_updated']);
    });
  });
}
