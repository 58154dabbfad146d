// A bare TCP relay: each connection piped to `host:port`, nothing parsed. The least any
// user-space proxy costs on this machine, which the apps bench holds the router against.
//   node bench/support/tcp-relay.ts <listen port> <host> <port>
import net from 'node:net';

const [listenPort, host, port] = process.argv.slice(2);
net.createServer((client) => {
  const upstream = net.connect({ host, port: Number(port), noDelay: true });
  client.setNoDelay(true);
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(Number(listenPort), '127.0.0.1');
