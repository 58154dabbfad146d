import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Whether something accepts TCP connections on address:port, trying until `timeoutMs`. */
export async function waitForListener(address: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal?.aborted) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: address, port, timeout: 1000 });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      socket.once('timeout', () => done(false));
    });
    if (connected) return true;
    await sleep(100);
  }
  return false;
}
