import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as packet from 'dns-packet';
import { startTestApp, type TestApp } from '../../support/app.ts';
import { testDatabases } from '../../support/databases.ts';
import { addOrganization } from '../../support/identity.ts';
import { addZone, dig, digSkipReason, freeDnsPort } from '../../support/dns.ts';

const skip = await digSkipReason();

const RECORDS = [
  { name: '@', type: 'A', ip: '192.0.2.1' },
  { name: 'www', type: 'A', ip: '192.0.2.10', ttl: 60 },
  { name: 'www', type: 'AAAA', ip: '2001:db8::10' },
  { name: '@', type: 'MX', priority: 10, hostname: 'mail' },
  { name: 'mail', type: 'A', ip: '192.0.2.25' },
  { name: '@', type: 'TXT', value: 'v=spf1 mx -all' },
  { name: '_sip._tcp', type: 'SRV', priority: 10, weight: 5, port: 5060, hostname: 'sip.example.net.' },
  { name: '@', type: 'CAA', flags: 0, tag: 'issue', value: 'letsencrypt.org' },
  { name: 'alias', type: 'CNAME', hostname: 'chain' },
  { name: 'chain', type: 'CNAME', hostname: 'www' },
  { name: 'away', type: 'CNAME', hostname: 'elsewhere.example.net.' },
  { name: '1.2', type: 'PTR', hostname: 'host.example.net.' },
  { name: '*.apps', type: 'A', ip: '192.0.2.80' },
  { name: 'team', type: 'NS', hostname: 'ns1.team' },
  { name: 'ns1.team', type: 'A', ip: '192.0.2.53' },
  { name: 'big', type: 'TXT', value: 'x'.repeat(3000) },
];

for (const database of testDatabases) {
  describe(`the authoritative DNS server, asked with dig [${database.name}]`, { skip }, () => {
    let app: TestApp;
    let port: number;
    let zoneId: string;
    before(async () => {
      port = await freeDnsPort();
      app = await startTestApp(database, { dns: { dnsPort: port, dnsNameservers: ['ns1.example.org', 'ns2.example.org'] } });
      zoneId = await addZone(app, 'example.test', RECORDS, { secondaries: ['127.0.0.1'] });
    });
    after(async () => {
      await app?.close();
    });

    it('answers every record type authoritatively', async () => {
      const expected: [string, string, string[]][] = [
        ['example.test', 'A', ['192.0.2.1']],
        ['www.example.test', 'A', ['192.0.2.10']],
        ['www.example.test', 'AAAA', ['2001:db8::10']],
        ['example.test', 'MX', ['10 mail.example.test.']],
        ['example.test', 'TXT', ['"v=spf1 mx -all"']],
        ['_sip._tcp.example.test', 'SRV', ['10 5 5060 sip.example.net.']],
        ['example.test', 'CAA', ['0 issue "letsencrypt.org"']],
        ['away.example.test', 'CNAME', ['elsewhere.example.net.']],
        ['1.2.example.test', 'PTR', ['host.example.net.']],
        ['example.test', 'NS', ['ns1.example.org.', 'ns2.example.org.']],
      ];
      for (const [name, type, data] of expected) {
        const answer = await dig(port, name, type);
        assert.equal(answer.status, 'NOERROR', `${name} ${type}`);
        assert.ok(answer.flags.includes('aa'), `${name} ${type} is authoritative`);
        assert.deepEqual(answer.answer.filter((r) => r.type === type).map((r) => r.data).sort(), data, `${name} ${type}`);
      }
      assert.equal((await dig(port, 'www.example.test', 'A')).answer[0]!.ttl, 60, 'a record keeps its own TTL');
      const soa = await dig(port, 'example.test', 'SOA');
      assert.match(soa.answer[0]!.data, /^ns1\.example\.org\. hostmaster\.example\.test\. 20\d{8} 10800 3600 1209600 300$/);
    });

    it('adds the addresses of MX targets, follows CNAME chains inside the zone, and stops at its edge', async () => {
      const mx = await dig(port, 'example.test', 'MX');
      assert.deepEqual(mx.additional.filter((r) => r.type === 'A').map((r) => [r.name, r.data]), [['mail.example.test.', '192.0.2.25']]);
      const chain = await dig(port, 'alias.example.test', 'A');
      assert.deepEqual(chain.answer.map((r) => [r.name, r.type, r.data]), [
        ['alias.example.test.', 'CNAME', 'chain.example.test.'],
        ['chain.example.test.', 'CNAME', 'www.example.test.'],
        ['www.example.test.', 'A', '192.0.2.10'],
      ]);
      const away = await dig(port, 'away.example.test', 'A');
      assert.deepEqual(away.answer.map((r) => r.type), ['CNAME']);
      assert.equal(away.status, 'NOERROR');
    });

    it('answers names a wildcard covers, but not the names that exist', async () => {
      const wild = await dig(port, 'anything.apps.example.test', 'A');
      assert.deepEqual(wild.answer.map((r) => [r.name, r.data]), [['anything.apps.example.test.', '192.0.2.80']]);
      assert.equal((await dig(port, 'deeper.still.apps.example.test', 'A')).answer[0]?.data, '192.0.2.80');
      const nodata = await dig(port, 'anything.apps.example.test', 'MX');
      assert.equal(nodata.status, 'NOERROR');
      assert.equal(nodata.answer.length, 0);
    });

    it('tells NXDOMAIN from NODATA, both with the SOA in the authority section', async () => {
      const nx = await dig(port, 'missing.example.test', 'A');
      assert.equal(nx.status, 'NXDOMAIN');
      assert.ok(nx.flags.includes('aa'));
      assert.deepEqual(nx.authority.map((r) => [r.name, r.type, r.ttl]), [['example.test.', 'SOA', 300]]);
      const nodata = await dig(port, 'mail.example.test', 'AAAA');
      assert.equal(nodata.status, 'NOERROR');
      assert.equal(nodata.answer.length, 0);
      assert.deepEqual(nodata.authority.map((r) => r.type), ['SOA']);
      // An empty non-terminal (`_tcp` has only a name below it) exists: NODATA.
      assert.equal((await dig(port, '_tcp.example.test', 'A')).status, 'NOERROR');
    });

    it('refers delegated names to their name servers with glue, without AA', async () => {
      const referral = await dig(port, 'host.team.example.test', 'A');
      assert.equal(referral.status, 'NOERROR');
      assert.ok(!referral.flags.includes('aa'));
      assert.deepEqual(referral.authority.map((r) => [r.name, r.type, r.data]), [['team.example.test.', 'NS', 'ns1.team.example.test.']]);
      assert.deepEqual(referral.additional.filter((r) => r.type === 'A').map((r) => [r.name, r.data]), [['ns1.team.example.test.', '192.0.2.53']]);
    });

    it('truncates a large answer over UDP and gives it whole over TCP; EDNS0 advertises 1232 bytes', async () => {
      const udp = await dig(port, 'big.example.test', 'TXT', ['+ignore']);
      assert.ok(udp.flags.includes('tc'), udp.output);
      assert.equal(udp.answer.length, 0);
      assert.match(udp.output, /udp: 1232/);
      const classic = await dig(port, 'big.example.test', 'TXT', ['+ignore', '+noedns']);
      assert.ok(classic.flags.includes('tc'));
      const tcp = await dig(port, 'big.example.test', 'TXT', ['+tcp']);
      assert.ok(!tcp.flags.includes('tc'));
      const strings = [...tcp.answer[0]!.data.matchAll(/"(x*)"/g)].map((m) => m[1]!.length);
      assert.deepEqual(strings, [255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 195], 'split in strings of 255 bytes');
      // dig retries a truncated UDP answer over TCP by itself.
      assert.equal((await dig(port, 'big.example.test', 'TXT')).answer.length, 1);
    });

    it('refuses names of zones it does not hold', async () => {
      const foreign = await dig(port, 'example.com', 'A');
      assert.equal(foreign.status, 'REFUSED');
      assert.ok(!foreign.flags.includes('aa'));
      assert.equal((await dig(port, 'test', 'SOA')).status, 'REFUSED');
    });

    it('transfers the zone to its secondaries (AXFR; IXFR answered whole, or with the SOA when current)', async () => {
      const { stdout, serial } = await axfr(port, 'example.test');
      const lines = transferLines(stdout);
      assert.match(lines[0]!, /\tSOA\t/);
      assert.match(lines.at(-1)!, /\tSOA\t/);
      assert.equal(lines.length, RECORDS.length + 2 /* NS */ + 2 /* SOA twice */);
      const current = transferLines((await dig(port, 'example.test', `IXFR=${serial}`)).output);
      assert.equal(current.length, 1, 'a secondary that is current gets the SOA alone');
      const behind = transferLines((await dig(port, 'example.test', `IXFR=${serial - 1}`)).output);
      assert.equal(behind.length, lines.length);
      // Another zone, with no secondaries, is not transferred to this address.
      await addZone(app, 'private.test', [{ name: 'www', type: 'A', ip: '192.0.2.99' }]);
      const refused = await dig(port, 'private.test', 'AXFR');
      assert.match(refused.output, /Transfer failed|REFUSED/);
    });

    it('sends NOTIFY to the secondaries of a zone when it changes', async () => {
      const secondary = dgram.createSocket('udp4');
      await new Promise<void>((resolve) => secondary.bind(0, '127.0.0.1', resolve));
      const notifies: packet.DecodedPacket[] = [];
      secondary.on('message', (message, remote) => {
        const notify = packet.decode(message);
        notifies.push(notify);
        secondary.send(packet.encode({ type: 'response', id: notify.id, flags: notify.flags, questions: notify.questions }), remote.port, remote.address);
      });
      try {
        const zone = await addZone(app, 'notified.test', [], { secondaries: [`127.0.0.1:${secondary.address().port}`] });
        await app.request({ method: 'POST', url: `/api/dns/zones/${zone}/records/`, payload: { name: 'www', type: 'A', ip: '192.0.2.1' } });
        const deadline = Date.now() + 5000;
        while (notifies.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        assert.ok(notifies.length >= 2, `${notifies.length} NOTIFY received`);
        for (const notify of notifies) {
          assert.equal(((notify.flags ?? 0) >> 11) & 0xf, 4, 'opcode NOTIFY');
          assert.deepEqual(notify.questions?.map((q) => [q.name, q.type]), [['notified.test', 'SOA']]);
        }
      } finally {
        secondary.close();
      }
    });

    it('answers a change made through the API from the very next query', async () => {
      const added = await app.request({ method: 'POST', url: `/api/dns/zones/${zoneId}/records/`, payload: { name: 'fresh', type: 'A', ip: '192.0.2.200' } });
      assert.equal(added.statusCode, 201, added.body);
      assert.deepEqual((await dig(port, 'fresh.example.test', 'A')).answer.map((r) => r.data), ['192.0.2.200']);
      const changed = await app.request({ method: 'PATCH', url: `/api/dns/zones/${zoneId}/records/${added.json().id}/`, payload: { ip: '192.0.2.201' } });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.deepEqual((await dig(port, 'fresh.example.test', 'A')).answer.map((r) => r.data), ['192.0.2.201']);
      assert.equal((await app.request({ method: 'DELETE', url: `/api/dns/zones/${zoneId}/records/${added.json().id}/` })).statusCode, 204);
      assert.equal((await dig(port, 'fresh.example.test', 'A')).status, 'NXDOMAIN');
      const sub = await addOrganization(app, 'DNS tenant');
      const zone = await addZone(app, 'tenant.test', [{ name: 'www', type: 'A', ip: '192.0.2.7' }], {}, `?org_id=${sub}`);
      assert.equal((await dig(port, 'www.tenant.test', 'A')).answer[0]?.data, '192.0.2.7');
      assert.equal((await app.request({ method: 'DELETE', url: `/api/dns/zones/${zone}/?org_id=${sub}` })).statusCode, 204);
      assert.equal((await dig(port, 'www.tenant.test', 'A')).status, 'REFUSED');
    });

    it('keeps answering whatever it is sent', async () => {
      const junk = [Buffer.from('garbage'), Buffer.alloc(0), Buffer.from('123456789012345678901234567890'), Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f])];
      const replies = await Promise.all(junk.map((message) => udpExchange(port, message)));
      // A readable header gets FORMERR with its id; anything shorter gets nothing.
      assert.equal(replies[0], null);
      assert.equal(replies[1], null);
      const formerr = packet.decode(replies[3]!);
      assert.equal(formerr.id, 0x1234);
      assert.equal((formerr as { rcode?: string }).rcode, 'FORMERR');
      // Garbage over TCP, then a real question on a new connection.
      await tcpSend(port, Buffer.from([0x00, 0x05, 1, 2, 3, 4, 5, 0xff, 0xff]));
      const unknownOpcode = packet.decode((await udpExchange(port, packet.encode({ type: 'query', id: 7, flags: 5 << 11, questions: [{ type: 'A', name: 'www.example.test' }] })))!);
      assert.equal((unknownOpcode as { rcode?: string }).rcode, 'NOTIMP');
      const badVersion = packet.decode((await udpExchange(port, packet.encode({ type: 'query', id: 8, questions: [{ type: 'A', name: 'www.example.test' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, ednsVersion: 1, flags: 0 } as packet.OptAnswer] })))!);
      assert.equal((badVersion.additionals![0] as packet.OptAnswer).extendedRcode, 1, 'BADVERS');
      assert.equal((await dig(port, 'www.example.test', 'A')).answer[0]!.data, '192.0.2.10');
      assert.equal((await dig(port, 'www.example.test', 'A', ['+tcp'])).answer[0]!.data, '192.0.2.10');
    });
  });
}

/** The records of a transfer as dig prints them (one per line, no sections). */
const transferLines = (output: string) => output.split('\n').filter((l) => l && !l.startsWith(';'));

async function axfr(port: number, zone: string): Promise<{ stdout: string; serial: number }> {
  const answer = await dig(port, zone, 'AXFR');
  const serial = Number(answer.output.split('\n').find((l) => l.includes('\tSOA\t'))!.split(/\s+/)[6]);
  return { stdout: answer.output, serial };
}

/** One UDP message to the server; its answer, or null when none comes within a second. */
function udpExchange(port: number, message: Buffer): Promise<Buffer | null> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => (socket.close(), resolve(null)), 1000);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.send(message, port, '127.0.0.1');
  });
}

function tcpSend(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
    socket.resume();
  });
}
