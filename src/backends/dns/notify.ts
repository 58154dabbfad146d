import dgram from 'node:dgram';
import net from 'node:net';
import * as packet from 'dns-packet';
import type { Logger } from 'pino';
import type { ZonePublisher } from '../../core/dns/changes.ts';
import { parseSecondary } from '../../core/dns/model.ts';

/** RFC 1996: a NOTIFY is retried until the secondary answers, a few times, then given up (it also polls the SOA). */
const ATTEMPTS = 3;
const FIRST_WAIT_MS = 1_000;
const OPCODE_NOTIFY = 4 << 11;

/** Sends DNS NOTIFY (RFC 1996) for a changed zone to each of its secondaries, over UDP. */
export function createNotifySender(logger: Logger): ZonePublisher & { close(): void } {
  const sockets = new Set<dgram.Socket>();

  async function notifyOne(zone: string, serial: number, secondary: string): Promise<void> {
    const target = parseSecondary(secondary);
    if (!target) return;
    const socket = dgram.createSocket(net.isIPv6(target.address) ? 'udp6' : 'udp4');
    sockets.add(socket);
    const id = Math.floor(Math.random() * 0x10000);
    const message = packet.encode({
      type: 'query',
      id,
      flags: OPCODE_NOTIFY | packet.AUTHORITATIVE_ANSWER,
      questions: [{ type: 'SOA', name: zone, class: 'IN' }],
    });
    try {
      const acknowledged = new Promise<void>((resolve) => {
        socket.on('message', (reply) => {
          if (reply.length >= 2 && reply.readUInt16BE(0) === id) resolve();
        });
      });
      socket.on('error', () => undefined);
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        try {
          socket.send(message, target.port, target.address);
        } catch {
          return; // closed: Nimbus is stopping
        }
        const wait = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), FIRST_WAIT_MS * 2 ** attempt).unref());
        if ((await Promise.race([acknowledged, wait])) !== 'timeout') return;
      }
      logger.warn({ zone, serial, secondary }, 'a secondary did not answer the NOTIFY of a zone change; it will see the change when it next checks the SOA');
    } finally {
      if (sockets.delete(socket)) socket.close();
    }
  }

  return {
    zoneChanged({ name, serial, secondaries }) {
      for (const secondary of secondaries) void notifyOne(name, serial, secondary).catch((error) => logger.warn({ err: error, zone: name, secondary }, 'NOTIFY failed'));
    },
    close() {
      for (const socket of sockets) socket.close();
      sockets.clear();
    },
  };
}
