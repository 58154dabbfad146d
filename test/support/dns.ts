import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { promisify } from 'node:util';
import type { TestApp } from './app.ts';

const run = promisify(execFile);

/** Why the tests that query with `dig` cannot run here, or false. */
export async function digSkipReason(): Promise<string | false> {
  try {
    await run('dig', ['-v']);
    return false;
  } catch {
    return 'needs dig (apt-get install bind9-dnsutils)';
  }
}

/** A loopback port free for both TCP and UDP right now (the DNS server takes both). */
export async function freeDnsPort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const socket = dgram.createSocket('udp4');
    const free = await new Promise<boolean>((resolve) => {
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => resolve(true));
    });
    socket.close();
    await new Promise((resolve) => server.close(resolve));
    if (free) return port;
  }
}

export interface DigRecord {
  name: string;
  ttl: number;
  type: string;
  data: string;
}

export interface DigAnswer {
  status: string;
  flags: string[];
  answer: DigRecord[];
  authority: DigRecord[];
  additional: DigRecord[];
  /** `;; MSG SIZE  rcvd: N` */
  size: number;
  output: string;
}

/** Asks the server at 127.0.0.1:`port` with dig (no recursion; `options` such as `+tcp`, `+ignore`). */
export async function dig(port: number, name: string, type: string, options: string[] = []): Promise<DigAnswer> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(port), '+norec', '+time=3', '+tries=1', ...options, name, type]);
  const sections: Record<string, DigRecord[]> = { answer: [], authority: [], additional: [] };
  let current: DigRecord[] | null = null;
  for (const line of stdout.split('\n')) {
    const header = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line);
    if (header) current = sections[header[1]!.toLowerCase()]!;
    else if (!line.trim()) current = null;
    else if (current && !line.startsWith(';')) {
      const [owner, ttl, , recordType, ...data] = line.split(/\s+/);
      current.push({ name: owner!, ttl: Number(ttl), type: recordType!, data: data.join(' ') });
    }
  }
  return {
    status: /status: (\w+)/.exec(stdout)?.[1] ?? 'NONE',
    flags: (/flags: ([a-z ]*);/.exec(stdout)?.[1] ?? '').trim().split(' ').filter(Boolean),
    answer: sections.answer!,
    authority: sections.authority!,
    additional: sections.additional!,
    size: Number(/MSG SIZE\s+rcvd: (\d+)/.exec(stdout)?.[1] ?? 0),
    output: stdout,
  };
}

/** A zone made through the API, with `records` added one by one; returns its id. */
export async function addZone(app: TestApp, name: string, records: object[] = [], extra: object = {}, query = ''): Promise<string> {
  const res = await app.request({ method: 'POST', url: `/api/dns/zones/${query}`, payload: { name, ...extra } });
  if (res.statusCode !== 201) throw new Error(`zone ${name}: ${res.statusCode} ${res.body}`);
  const id = res.json().id as string;
  for (const record of records) {
    const added = await app.request({ method: 'POST', url: `/api/dns/zones/${id}/records/${query}`, payload: record });
    if (added.statusCode !== 201) throw new Error(`record ${JSON.stringify(record)}: ${added.statusCode} ${added.body}`);
  }
  return id;
}
