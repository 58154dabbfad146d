import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dig, digSkipReason, freeDnsPort } from '../support/dns.ts';
import { api, eventually, processDatabases, startServer, type ServerProcess, type SharedDatabase } from '../support/server-process.ts';

const digSkip = await digSkipReason();

/** `nimbus serve` processes answering DNS on their own ports, over one database. */
for (const { name, open, skip } of processDatabases) {
  // Two replicas need a database both can reach: SQLite runs one process.
  const replicas = name === 'postgres' ? 2 : 1;
  describe(`DNS from nimbus serve, ${replicas} replica(s) [${name}]`, { skip: digSkip || skip }, () => {
    let database: SharedDatabase;
    const servers: { process: ServerProcess; dnsPort: number }[] = [];
    before(async () => {
      database = await open();
      for (let i = 0; i < replicas; i++) {
        const dnsPort = await freeDnsPort();
        servers.push({ process: await startServer({ ...database.env, NIMBUS_DNS_PORT: String(dnsPort), NIMBUS_DNS_NAMESERVERS: 'ns1.replicas.test' }), dnsPort });
      }
    });
    after(async () => {
      await Promise.all(servers.map((s) => s.process.kill('SIGTERM')));
      await database?.cleanup();
    });

    it('answers on every replica a change made through any one of them', async () => {
      for (const { process, dnsPort } of servers) {
        await eventually('the DNS server to listen', async () => (process.output().includes(`DNS server listening at 127.0.0.1:${dnsPort} (UDP and TCP)`) ? true : undefined), 10_000);
      }
      const first = servers[0]!;
      const last = servers.at(-1)!;
      const zone = await api(first.process, database.token, 'POST', '/api/dns/zones/', { name: 'replicas.test' });
      assert.equal(zone.status, 201, JSON.stringify(zone.json));
      const record = await api(first.process, database.token, 'POST', `/api/dns/zones/${zone.json.id}/records/`, { name: 'www', type: 'A', ip: '192.0.2.1' });
      assert.equal(record.status, 201);
      // The replica that made the change answers from it at once.
      assert.deepEqual((await dig(first.dnsPort, 'www.replicas.test', 'A')).answer.map((r) => r.data), ['192.0.2.1']);
      // Another replica hears of it through LISTEN/NOTIFY.
      await eventually('the other replica to answer the new record', async () => ((await dig(last.dnsPort, 'www.replicas.test', 'A')).answer[0]?.data === '192.0.2.1' ? true : undefined), 5_000);
      const changed = await api(last.process, database.token, 'PATCH', `/api/dns/zones/${zone.json.id}/records/${record.json.id}/`, { ip: '192.0.2.2' });
      assert.equal(changed.status, 200);
      assert.equal((await dig(last.dnsPort, 'www.replicas.test', 'A')).answer[0]?.data, '192.0.2.2');
      await eventually('the first replica to answer the change', async () => ((await dig(first.dnsPort, 'www.replicas.test', 'A')).answer[0]?.data === '192.0.2.2' ? true : undefined), 5_000);
      const deleted = await fetch(`${first.process.url}/api/dns/zones/${zone.json.id}/`, { method: 'DELETE', headers: { authorization: `token="${database.token}"` } });
      assert.equal(deleted.status, 204);
      await eventually('every replica to refuse the deleted zone', async () => {
        const statuses = await Promise.all(servers.map(async (s) => (await dig(s.dnsPort, 'www.replicas.test', 'A')).status));
        return statuses.every((s) => s === 'REFUSED') ? true : undefined;
      }, 5_000);
    });
  });
}
