import { isUuid, type Db } from './outbox.ts';

/** A problem publishing a run's metadata to DataHub; the run itself is not affected. */
export interface RunWarning {
  /** For people, e.g. "DataHub: 9 metadata proposals not delivered yet after 3 tries (…); next try at …". */
  message: string;
  /** The last error GMS (or the network) gave. */
  error: string;
  /** How many of the run's proposals share this error. */
  proposals: number;
  entityUrns: string[];
  /** Most tries made for one of them. */
  attempts: number;
  /** When the next try is due; null once resolved. */
  nextAttemptAt: Date | null;
  /** Delivered after all (or replaced by newer metadata before delivery). */
  resolved: boolean;
}

interface Row {
  last_error: string;
  resolved: boolean;
  proposals: number;
  entity_urns: string[];
  attempts: number;
  next_attempt_at: Date | null;
}

/**
 * The DataHub warnings of a run: its proposals that failed at least once, grouped by error,
 * unresolved ones first. Empty when everything was delivered at the first try (or when
 * DataHub is not configured, since nothing is sent then).
 */
export async function getRunWarnings(db: Db, runId: string): Promise<RunWarning[]> {
  if (!isUuid(runId)) return [];
  const rows = await db.$queryRaw<Row[]>`
    SELECT "last_error", ("status" <> 'pending') AS "resolved", count(*)::int AS "proposals",
           array_agg(DISTINCT "entity_urn" ORDER BY "entity_urn") AS "entity_urns",
           max("attempts")::int AS "attempts",
           CASE WHEN bool_or("status" = 'pending') THEN min("next_attempt_at") END AS "next_attempt_at"
    FROM "datahub_proposals"
    WHERE "run_id" = ${runId}::uuid AND "last_error" IS NOT NULL
    GROUP BY "last_error", ("status" <> 'pending')
    ORDER BY 2, 3 DESC`;
  return rows.map((r) => ({
    message: r.resolved
      ? `DataHub: ${r.proposals} metadata proposal(s) failed at first (${r.last_error}) and were delivered later`
      : `DataHub: ${r.proposals} metadata proposal(s) not delivered yet after ${r.attempts} ${r.attempts === 1 ? 'try' : 'tries'} (${r.last_error})` +
        (r.next_attempt_at ? `; next try at ${r.next_attempt_at.toISOString()}` : ''),
    error: r.last_error,
    proposals: r.proposals,
    entityUrns: r.entity_urns,
    attempts: r.attempts,
    nextAttemptAt: r.resolved ? null : r.next_attempt_at,
    resolved: r.resolved,
  }));
}
