import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serialAtLeast } from '../../../src/core/dns/authority.ts';
import { absoluteName, parseOwnerName, parseZoneName, relativeName } from '../../../src/core/dns/names.ts';
import { txtStrings } from '../../../src/core/dns/record-types.ts';
import { conflictsIn } from '../../../src/core/dns/rules.ts';
import { nextSerial } from '../../../src/core/dns/serial.ts';
import { emailToMailbox, mailboxToEmail, parseTtl, parseZoneFile, writeZoneFile } from '../../../src/core/dns/zone-file.ts';

describe('DNS rules', () => {
  it('moves serials on as YYYYMMDDnn, never backwards', () => {
    const day = new Date('2026-12-02T10:00:00Z');
    assert.equal(nextSerial(0, day), 2026120200);
    assert.equal(nextSerial(2026120200, day), 2026120201);
    assert.equal(nextSerial(2026120199, day), 2026120200);
    assert.equal(nextSerial(2026120299, day), 2026120300, 'a 101st change borrows from tomorrow');
    assert.equal(nextSerial(2030010100, day), 2030010101, 'a serial from the future still grows');
    assert.ok(serialAtLeast(5, 5) && serialAtLeast(6, 5) && !serialAtLeast(4, 5));
    assert.ok(serialAtLeast(1, 2 ** 32 - 1), 'serials wrap (RFC 1982)');
  });

  it('reads names by zone-file rules', () => {
    assert.equal(parseZoneName('Example.COM.'), 'example.com');
    assert.throws(() => parseZoneName('com'), /below a top-level domain/);
    assert.equal(absoluteName('@', 'example.com'), 'example.com');
    assert.equal(absoluteName('www', 'example.com'), 'www.example.com');
    assert.equal(absoluteName('www.example.com', 'example.com'), 'www.example.com.example.com', 'a name without its final dot is relative');
    assert.equal(parseOwnerName('WWW.Example.com.', 'example.com'), 'www.example.com');
    assert.throws(() => parseOwnerName('www.example.org.', 'example.com'), /not inside the zone/);
    assert.throws(() => parseOwnerName('a.*', 'example.com'), /leftmost/);
    assert.equal(relativeName('example.com', 'example.com'), '@');
    assert.equal(relativeName('a.b.example.com', 'example.com'), 'a.b');
  });

  it('splits TXT values into strings of at most 255 bytes', () => {
    assert.deepEqual(txtStrings('x'.repeat(600)).map((b) => b.length), [255, 255, 90]);
    assert.deepEqual(txtStrings('').map((b) => b.length), [0]);
    assert.deepEqual(txtStrings('é'.repeat(200)).map((b) => b.length), [255, 145], 'bytes, not characters');
  });

  it('keeps CNAMEs alone, off the apex, and hides nothing below a delegation', () => {
    const a = (name: string, ip = '192.0.2.1') => ({ name, ttl: null, data: { type: 'A' as const, ip } });
    const cname = (name: string) => ({ name, ttl: null, data: { type: 'CNAME' as const, hostname: 'x.example' } });
    const ns = (name: string) => ({ name, ttl: null, data: { type: 'NS' as const, hostname: 'ns.example' } });
    const txt = (name: string) => ({ name, ttl: null, data: { type: 'TXT' as const, value: 'v' } });
    assert.equal(conflictsIn('z.test', [a('www.z.test'), a('www.z.test', '192.0.2.2')]).size, 0);
    assert.deepEqual([...conflictsIn('z.test', [a('www.z.test'), cname('www.z.test')], 1).keys()], [1]);
    assert.deepEqual([...conflictsIn('z.test', [a('www.z.test'), a('www.z.test')], 0).keys()], [1]);
    assert.match(conflictsIn('z.test', [cname('z.test')]).get(0)![0]!, /apex/);
    assert.match(conflictsIn('z.test', [ns('z.test')]).get(0)![0]!, /deployment/);
    assert.match(conflictsIn('z.test', [ns('sub.z.test'), txt('a.sub.z.test')], 1).get(1)![0]!, /delegation/);
    assert.match(conflictsIn('z.test', [txt('a.sub.z.test'), ns('sub.z.test')], 1).get(1)![0]!, /hide/);
    assert.equal(conflictsIn('z.test', [ns('sub.z.test'), a('ns.sub.z.test')], 1).size, 0, 'glue');
  });

  it('reads zone files and writes them back the same', () => {
    const parsed = parseZoneFile(['$TTL 2h', '@ SOA ns. host\\.master.z.test. 1 1h 10m 1w 5m', 'a 60 IN A 192.0.2.1', ' AAAA 2001:db8::1', 'm MX 10 mail', 't TXT "a\\"b" "c\\065"'].join('\n'), 'z.test');
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.defaultTtl, 7200);
    assert.deepEqual(parsed.soa, { primaryNs: 'ns.', email: 'host.master@z.test', refresh: 3600, retry: 600, expire: 604800, minimum: 300, ttl: null });
    assert.deepEqual(parsed.records.map((r) => [r.name, r.type, r.ttl, r.fields]), [
      ['a.z.test.', 'A', 60, { ip: '192.0.2.1' }],
      ['a.z.test.', 'AAAA', null, { ip: '2001:db8::1' }],
      ['m.z.test.', 'MX', null, { priority: 10, hostname: 'mail.z.test.' }],
      ['t.z.test.', 'TXT', null, { value: 'a"bcA' }],
    ]);
    assert.equal(parseTtl('1h30m'), 5400);
    assert.equal(parseTtl('soon'), null);
    assert.equal(emailToMailbox('host.master@z.test'), 'host\\.master.z.test.');
    assert.equal(mailboxToEmail('hostmaster.z.test.'), 'hostmaster@z.test');
    const text = writeZoneFile({
      name: 'z.test',
      defaultTtl: 300,
      soa: { primaryNs: 'ns1.z.test', email: 'hostmaster@z.test', serial: 2026120200, refresh: 1, retry: 2, expire: 3, minimum: 4 },
      nameservers: ['ns1.z.test'],
      records: [{ name: 'z.test', ttl: null, data: { type: 'TXT', value: 'say "hi"\n' } }],
    });
    const back = parseZoneFile(text, 'z.test');
    assert.deepEqual(back.errors, []);
    assert.deepEqual(back.records.map((r) => r.fields), [{ hostname: 'ns1.z.test.' }, { value: 'say "hi"\n' }]);
  });
});
