/** Network helpers for tests that start servers of their own (PostgreSQL, sshd). */
import net from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it); resolves the number. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
