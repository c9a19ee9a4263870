import { errorMessage } from '@sluice/core';

/** A metadata change proposal as GMS's Rest.li API takes it: the aspect travels as a JSON string. */
export interface WireProposal {
  entityType: string;
  entityUrn: string;
  changeType: 'UPSERT';
  aspectName: string;
  aspect: { contentType: 'application/json'; value: string };
}

export function toWireProposal(p: { entityType: string; entityUrn: string; aspectName: string; aspect: unknown }): WireProposal {
  return {
    entityType: p.entityType,
    entityUrn: p.entityUrn,
    changeType: 'UPSERT',
    aspectName: p.aspectName,
    aspect: { contentType: 'application/json', value: JSON.stringify(p.aspect) },
  };
}

/**
 * What GMS made of a request. `retry_later`: nothing was taken and the same request may pass
 * later (GMS unreachable, overloaded, 5xx, or refusing the token). `rejected`: GMS refused this
 * payload (a 4xx about the content); `status` 404 on the batch action means a GMS too old for it.
 */
export type GmsOutcome =
  | { kind: 'ok' }
  | { kind: 'retry_later'; message: string }
  | { kind: 'rejected'; status: number; message: string };

export interface GmsClientOptions {
  /** `DATAHUB_GMS_URL`, e.g. `http://datahub-gms:8080`. */
  url: string;
  /** `DATAHUB_GMS_TOKEN`, sent as a bearer token. */
  token?: string | null;
  timeoutMs: number;
}

const MAX_ERROR_CHARS = 1000;

/** The two ingestion actions of GMS's REST API, as DataHub's Python `DatahubRestEmitter` calls them. */
export class GmsClient {
  private readonly base: string;

  constructor(private readonly options: GmsClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  get url(): string {
    return this.base;
  }

  /** `POST /aspects?action=ingestProposalBatch` with `{proposals, async: "false"}`. */
  ingestBatch(proposals: WireProposal[]): Promise<GmsOutcome> {
    return this.post('ingestProposalBatch', JSON.stringify({ proposals, async: 'false' }));
  }

  /** `POST /aspects?action=ingestProposal` with `{proposal, async: "false"}`. */
  ingestOne(proposal: WireProposal): Promise<GmsOutcome> {
    return this.post('ingestProposal', JSON.stringify({ proposal, async: 'false' }));
  }

  private async post(action: string, body: string): Promise<GmsOutcome> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'X-RestLi-Protocol-Version': '2.0.0',
    };
    if (this.options.token) headers['Authorization'] = `Bearer ${this.options.token}`;
    let response: Response;
    try {
      response = await fetch(`${this.base}/aspects?action=${action}`, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (err) {
      return { kind: 'retry_later', message: `DataHub GMS at ${this.base} is not reachable: ${describeFetchError(err)}` };
    }
    if (response.ok) {
      await response.body?.cancel();
      return { kind: 'ok' };
    }
    const detail = await readErrorDetail(response);
    const what = `DataHub GMS answered ${response.status}${detail ? `: ${detail}` : ''}`;
    const s = response.status;
    if (s === 401 || s === 403) return { kind: 'retry_later', message: `${what} (check DATAHUB_GMS_TOKEN)` };
    if (s === 408 || s === 429 || s >= 500) return { kind: 'retry_later', message: what };
    return { kind: 'rejected', status: s, message: what };
  }
}

function describeFetchError(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  const cause = err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined;
  return cause !== undefined ? errorMessage(cause) : errorMessage(err);
}

/** Rest.li errors are JSON with `message` (and a long `stackTrace`, left out). */
async function readErrorDetail(response: Response): Promise<string> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return '';
  }
  let detail = text.trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && 'message' in parsed && typeof parsed.message === 'string') detail = parsed.message;
  } catch {
    // not JSON: keep the text
  }
  return detail.length > MAX_ERROR_CHARS ? `${detail.slice(0, MAX_ERROR_CHARS)}…` : detail;
}
