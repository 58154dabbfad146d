import dgram from 'node:dgram';
import net from 'node:net';
import * as packet from 'dns-packet';
import type { Logger } from 'pino';
import type { DnsAuthority } from '../../core/dns/authority.ts';
import { toPacketRecord } from './wire.ts';

export interface DnsServerOptions {
  authority: DnsAuthority;
  logger: Logger;
  address: string;
  /** UDP and TCP on the same port; 0 picks a free one (tests). */
  port: number;
  /** The largest UDP answer Nimbus sends to an EDNS0 client (1232: no IP fragmentation, RFC 9715). */
  ednsUdpSize: number;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
const OPCODE_QUERY = 0;
const AA = packet.AUTHORITATIVE_ANSWER;
const TC = packet.TRUNCATED_RESPONSE;
const RD = packet.RECURSION_DESIRED;
/** Without EDNS0, a UDP answer has at most 512 bytes (RFC 1035). */
const CLASSIC_UDP_SIZE = 512;
const TCP_MAX = 65535;
/** A zone transfer is sent in messages of about this size. */
const TRANSFER_MESSAGE_BYTES = 16_000;
const TCP_IDLE_MS = 10_000;
/** Ways of asking one question (case of the name, UDP size, EDNS0) kept encoded. */
const MAX_VARIANTS = 16;
const TCP_MAX_CONNECTIONS = 512;
/** EDNS version 1 and later are answered BADVERS (RFC 6891 6.1.3): extended RCODE 1, i.e. 16. */
const BADVERS_HIGH_BITS = 1;

type Transport = 'udp' | 'tcp';
type Query = packet.DecodedPacket;
type Reply = (message: Buffer) => void;

/** The client's address as zones list their secondaries (an IPv4 client of a dual-stack socket without its `::ffff:`). */
const clientAddress = (address: string) => address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');

/**
 * Nimbus's authoritative DNS server: UDP and TCP on one port, answering from core's cached
 * zones. It never recurses; a malformed message gets FORMERR (or nothing, when not even its
 * header can be read), and nothing a client sends stops it from answering the next one.
 */
export function createDnsServer({ authority, logger, address, port, ednsUdpSize }: DnsServerOptions) {
  const udp = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
  const tcp = net.createServer({ pauseOnConnect: false });
  tcp.maxConnections = TCP_MAX_CONNECTIONS;
  const connections = new Set<net.Socket>();
  /** Encoded answers by how they were asked; they go with the answer (and so with its zone's snapshot). */
  const encoded = new WeakMap<object, Map<string, Buffer>>();

  /** Nimbus's EDNS0 record: the UDP size it accepts, and the high bits of an extended RCODE. */
  const optRecord = (extendedRcode: number): packet.OptAnswer => ({ type: 'OPT', name: '.', udpPayloadSize: ednsUdpSize, extendedRcode, ednsVersion: 0, flags: 0, flag_do: false, options: [] });

  /** The flags of an answer to `query`: QR (set by dns-packet), its opcode, RD echoed, and `rcode`. */
  function flagsFor(query: Pick<Query, 'flags'> | null, rcode: number, extra = 0): number {
    const opcode = (query?.flags ?? 0) & 0x7800;
    const rd = (query?.flags ?? 0) & RD;
    return opcode | rd | extra | rcode;
  }

  function errorReply(query: Query, rcode: number, extra: Partial<packet.Packet> = {}): packet.Packet {
    return { type: 'response', id: query.id, flags: flagsFor(query, rcode), questions: query.questions, answers: [], authorities: [], additionals: [], ...extra };
  }

  /** The answer to one message, or null when it deserves none (a response, an unreadable header). */
  async function respond(message: Buffer, transport: Transport, client: string, send: Reply): Promise<void> {
    let query: Query;
    try {
      query = packet.decode(message);
    } catch {
      if (message.length >= 12 && (message.readUInt16BE(2) & 0x8000) === 0) {
        send(packet.encode({ type: 'response', id: message.readUInt16BE(0), flags: (message.readUInt16BE(2) & 0x7800) | RCODE.FORMERR, questions: [] }));
      }
      return;
    }
    if (query.type === 'response') return;
    const opt = query.additionals?.find((a) => a.type === 'OPT') as packet.OptAnswer | undefined;
    const ednsReply: packet.Answer[] = opt ? [optRecord(0)] : [];
    const udpLimit = opt ? Math.max(CLASSIC_UDP_SIZE, Math.min(opt.udpPayloadSize ?? CLASSIC_UDP_SIZE, ednsUdpSize)) : CLASSIC_UDP_SIZE;
    const finish = (reply: packet.Packet) => send(encodeWithin({ ...reply, additionals: [...(reply.additionals ?? []), ...ednsReply] }, transport === 'udp' ? udpLimit : TCP_MAX));

    if (((query.flags ?? 0) & 0x7800) >> 11 !== OPCODE_QUERY) return finish(errorReply(query, RCODE.NOTIMP));
    if (opt?.ednsVersion) return send(packet.encode({ ...errorReply(query, 0), additionals: [optRecord(BADVERS_HIGH_BITS)] }));
    const question = query.questions?.length === 1 ? query.questions[0]! : null;
    if (!question) return finish(errorReply(query, RCODE.FORMERR));
    if (question.class !== 'IN' && question.class !== 'ANY') return finish(errorReply(query, RCODE.REFUSED));

    if (question.type === 'AXFR' || question.type === 'IXFR') {
      // Transfers run over TCP: a UDP client is told to come back over TCP.
      if (transport === 'udp') return finish(errorReply(query, RCODE.NOERROR, { flags: flagsFor(query, RCODE.NOERROR, AA | TC) }));
      const soa = question.type === 'IXFR' ? query.authorities?.find((a) => a.type === 'SOA') : undefined;
      const transfer = await authority.transfer(question.name, client, soa ? (soa.data as packet.SoaData).serial : undefined);
      if (transfer.outcome === 'refused') return finish(errorReply(query, RCODE.REFUSED));
      const records = transfer.records.map(toPacketRecord);
      for (const chunk of chunks(records)) send(packet.encode({ ...errorReply(query, RCODE.NOERROR), flags: flagsFor(query, RCODE.NOERROR, AA), answers: chunk }));
      return;
    }

    const answer = await authority.answer(question.name, question.type);
    if (!answer) return finish(errorReply(query, RCODE.REFUSED));
    // The same answer, asked the same way, is encoded once: only its id and RD bit differ.
    const variant = `${transport === 'udp' ? udpLimit : TCP_MAX} ${opt ? 1 : 0} ${question.name} ${question.class}`;
    const encodings = encoded.get(answer) ?? new Map<string, Buffer>();
    encoded.set(answer, encodings);
    let encoding = encodings.get(variant);
    if (!encoding) {
      encoding = encodeWithin(
        {
          type: 'response',
          id: 0,
          flags: flagsFor(null, RCODE[answer.rcode], answer.authoritative ? AA : 0),
          questions: [question],
          answers: answer.answers.map(toPacketRecord),
          authorities: answer.authorities.map(toPacketRecord),
          additionals: [...answer.additionals.map(toPacketRecord), ...ednsReply],
        },
        transport === 'udp' ? udpLimit : TCP_MAX,
      );
      if (encodings.size < MAX_VARIANTS) encodings.set(variant, encoding);
    }
    const reply = Buffer.from(encoding);
    reply.writeUInt16BE(query.id ?? 0, 0);
    reply[2]! |= ((query.flags ?? 0) & RD) >> 8;
    send(reply);
  }

  /**
   * The answer encoded within `limit` bytes: without its additional records when that is
   * enough, otherwise truncated (TC) to its question and EDNS0 record, so the client asks again over TCP.
   */
  function encodeWithin(reply: packet.Packet, limit: number): Buffer {
    const full = packet.encode(reply);
    if (full.length <= limit) return full;
    const opt = (reply.additionals ?? []).filter((a) => a.type === 'OPT');
    const lean = packet.encode({ ...reply, additionals: opt });
    if (lean.length <= limit) return lean;
    return packet.encode({ ...reply, flags: (reply.flags ?? 0) | TC, answers: [], authorities: [], additionals: opt });
  }

  function handle(message: Buffer, transport: Transport, client: string, send: Reply): Promise<void> {
    return respond(message, transport, client, send).catch((error) => {
      logger.warn({ err: error, transport }, 'a DNS query failed');
      if (message.length >= 12) send(packet.encode({ type: 'response', id: message.readUInt16BE(0), flags: RCODE.SERVFAIL, questions: [] }));
    });
  }

  udp.on('message', (message, remote) => {
    void handle(message, 'udp', clientAddress(remote.address), (reply) => udp.send(reply, remote.port, remote.address));
  });
  udp.on('error', (error) => logger.warn({ err: error }, 'DNS UDP socket error'));

  tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    const client = clientAddress(socket.remoteAddress ?? '');
    const send: Reply = (reply) => {
      if (socket.destroyed) return;
      const length = Buffer.alloc(2);
      length.writeUInt16BE(reply.length);
      socket.write(Buffer.concat([length, reply]));
    };
    let pending = Buffer.alloc(0);
    // Messages of one connection are answered in order (RFC 7766 allows either).
    let queue = Promise.resolve();
    socket.on('data', (data) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + message.length);
        queue = queue.then(() => handle(Buffer.from(message), 'tcp', client, send));
      }
    });
  });

  return {
    /** Starts answering; resolves with the port (UDP and TCP share it). */
    async listen(): Promise<number> {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, address, () => (tcp.off('error', reject), resolve()));
      });
      const bound = (tcp.address() as net.AddressInfo).port;
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(bound, address, () => (udp.off('error', reject), resolve()));
      }).catch(async (error) => {
        await new Promise((resolve) => tcp.close(resolve));
        throw error;
      });
      return bound;
    },
    async close(): Promise<void> {
      for (const socket of connections) socket.destroy();
      await Promise.all([new Promise((resolve) => tcp.close(resolve)), new Promise<void>((resolve) => udp.close(() => resolve()))]).catch(() => undefined);
    },
  };
}

// dns-packet's record codec: exported, though its type declarations leave it out.
const recordCodec = (packet as unknown as { answer: { encodingLength(record: packet.Answer): number } }).answer;

/** Splits a transfer's records into messages of about `TRANSFER_MESSAGE_BYTES` each. */
function chunks(records: packet.Answer[]): packet.Answer[][] {
  const out: packet.Answer[][] = [[]];
  let size = 0;
  for (const record of records) {
    const length = recordCodec.encodingLength(record);
    if (size + length > TRANSFER_MESSAGE_BYTES && out.at(-1)!.length) (out.push([]), (size = 0));
    out.at(-1)!.push(record);
    size += length;
  }
  return out;
}

export type DnsServer = ReturnType<typeof createDnsServer>;
