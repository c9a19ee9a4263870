import net from 'node:net';

/** A TCP proxy to PostgreSQL that can hold back Iceberg catalog commits (see holdCatalogCommits). */
export interface HeldCommits {
  /** The database URL through the proxy. */
  url: string;
  /** From now on, what a connection sends from its `UPDATE iceberg_tables` on is held back. */
  arm(): void;
  /** How many sends are held. */
  held(): number;
  /** Sends what is held (the server then runs it), and holds no more. */
  letGo(): void;
  /** Cuts the connections that hold something, unsent (their commits never happen), and holds no more. */
  drop(): void;
  close(): Promise<void>;
}

/**
 * A proxy between a catalog and its PostgreSQL: once armed, a connection's catalog UPDATE (a
 * commit's compare-and-swap) and whatever follows it on that connection are held back, as a
 * network that delays the statement past the client's limit. The writer then has no answer: its
 * commit's outcome is unknown, and it keeps its files.
 */
export async function holdCatalogCommits(databaseUrl: string): Promise<HeldCommits> {
  let armed = false;
  const held: (() => void)[] = [];
  /** Client sockets whose sends are held, with their server ends. */
  const holding = new Map<net.Socket, net.Socket>();
  const sockets: net.Socket[] = [];
  const target = new URL(databaseUrl);
  const proxy = net.createServer((client) => {
    const server = net.connect(Number(target.port), target.hostname);
    sockets.push(client, server);
    client.on('data', (d: Buffer) => {
      if (armed && d.includes('UPDATE iceberg_tables')) holding.set(client, server);
      if (holding.has(client)) held.push(() => server.write(d));
      else server.write(d);
    });
    server.on('data', (d: Buffer) => client.write(d));
    client.on('error', () => undefined);
    server.on('error', () => undefined);
    // The server end stays open for what is held: the statement still reaches it when let go.
    client.on('close', () => (holding.has(client) ? held.push(() => server.end()) : server.end()));
    server.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.host = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  return {
    url: url.toString(),
    arm: () => {
      armed = true;
    },
    held: () => held.length,
    letGo: () => {
      armed = false;
      holding.clear();
      for (const go of held.splice(0)) go();
    },
    drop: () => {
      armed = false;
      held.splice(0);
      for (const [client, server] of holding) {
        server.destroy();
        client.destroy();
      }
      holding.clear();
    },
    close: async () => {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
