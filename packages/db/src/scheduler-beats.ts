/**
 * `scheduler_beats`: each scheduler process records its recovery sweeps here (written here only), so
 * that the flow UI can say when no scheduler has been seen for a while: its schedules do not fire
 * then (manual triggers still run), as Airflow's "the scheduler does not appear to be running".
 */
import type { PrismaClient } from './client.ts';

/** A scheduler that has not swept for this long is taken to be gone (sweeps come every 5 s by default). */
const SCHEDULER_GONE_MS = 30_000;

/** Rows of schedulers gone this long are removed by the next beat of any scheduler. */
const FORGET_MS = 24 * 3600_000;

/** Records a sweep of scheduler `schedulerId` (started at `startedAt`), and forgets long-gone ones. */
export async function recordSchedulerBeat(db: PrismaClient, schedulerId: string, startedAt: Date): Promise<void> {
  await db.$executeRaw`
    WITH forgotten AS (DELETE FROM scheduler_beats WHERE beat_at < now() - make_interval(secs => ${FORGET_MS / 1000}))
    INSERT INTO scheduler_beats (scheduler_id, started_at, beat_at) VALUES (${schedulerId}, ${startedAt}, now())
    ON CONFLICT (scheduler_id) DO UPDATE SET beat_at = EXCLUDED.beat_at`;
}

/** Whether a scheduler swept within {@link SCHEDULER_GONE_MS}, and when one last did (null: never). */
export async function schedulerSeen(db: PrismaClient): Promise<{ alive: boolean; lastBeatAt: Date | null }> {
  const [row] = await db.$queryRaw<{ last: Date | null; alive: boolean }[]>`
    SELECT max(beat_at) AS last, coalesce(max(beat_at) > now() - make_interval(secs => ${SCHEDULER_GONE_MS / 1000}), false) AS alive
      FROM scheduler_beats`;
  return { alive: row?.alive ?? false, lastBeatAt: row?.last ?? null };
}
