/**
 * A local HTTP server standing in for DataHub GMS: it answers the two ingestion actions the way
 * GMS's Rest.li API does (200 with the URNs; a 4xx/5xx with a JSON `message` otherwise) and keeps
 * every request it took, so tests can check and validate what Sluice sent. It can be taken down
 * and brought back on the same port, answer 500s, or refuse chosen proposals like a validating GMS
 * (a batch with one refused proposal is refused as a whole, as GMS does).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedRequest {
  action: string;
  body: unknown;
  headers: IncomingMessage['headers'];
}

export interface WireProposalLike {
  entityUrn?: string;
  aspectName?: string;
  /** The aspect, serialized as GMS takes it. */
  aspect?: { value?: string };
}

export class GmsStandIn {
  /** Every request received, answered or not. */
  readonly requests: CapturedRequest[] = [];
  /** Every proposal taken (answered 2xx), in order. */
  readonly accepted: WireProposalLike[] = [];
  /** Proposals this predicate matches are refused with a 422. */
  refuse: ((p: WireProposalLike) => boolean) | null = null;
  /** When set, every request is answered with this 5xx. */
  failWith: number | null = null;
  private server: Server | null = null;
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts listening (again, on the same port after {@link down}). */
  async up(): Promise<void> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening: connections are refused until {@link up}. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const action = url.searchParams.get('action') ?? '';
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || url.pathname !== '/aspects' || (action !== 'ingestProposal' && action !== 'ingestProposalBatch')) {
      reply(404, { message: `No route for ${req.method} ${req.url}`, status: 404 });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      reply(400, { message: 'malformed JSON', status: 400 });
      return;
    }
    this.requests.push({ action, body, headers: req.headers });
    if (this.failWith !== null) {
      reply(this.failWith, { message: 'java.lang.RuntimeException: simulated GMS failure', status: this.failWith, stackTrace: 'at …' });
      return;
    }
    const b = body as { proposal?: WireProposalLike; proposals?: WireProposalLike[] };
    const proposals = action === 'ingestProposal' ? (b.proposal ? [b.proposal] : []) : (b.proposals ?? []);
    const refused = this.refuse ? proposals.find((p) => this.refuse?.(p)) : undefined;
    if (refused) {
      reply(422, {
        message: `com.linkedin.metadata.entity.validation.ValidationException: refused ${refused.aspectName ?? '?'} of ${refused.entityUrn ?? '?'}`,
        status: 422,
        stackTrace: 'com.linkedin.restli.server.RestLiServiceException …',
      });
      return;
    }
    this.accepted.push(...proposals);
    reply(200, { value: action === 'ingestProposal' ? (proposals[0]?.entityUrn ?? '') : proposals.map((p) => p.entityUrn) });
  }
}
