import { ConflictError } from '@sluice/core';
import type { PrismaClient } from '@sluice/db';
import type { MasterKeyring } from './master-keyring.ts';

/** What a keyring cannot open of the secrets the database holds. */
export interface UnheldMasterKeys {
  /** Said for SLUICE_MASTER_KEY's error or warning. */
  message: string;
  /** Whether it opens none of them: its key is not the installation's at all. */
  opensNone: boolean;
  /** How many secrets it cannot open, in all. */
  sealed: number;
  /** The keys that sealed them, by id. */
  keyIds: string[];
}

/** How many jobs a warning names. */
const JOBS_NAMED = 5;

/**
 * What the keyring cannot open of the secrets the database holds — the source configs of jobs
 * not deleted and the named keys' material, each sealed under the master key its header names —
 * with the jobs concerned; null when it opens them all. A runner that opens none refuses to start
 * (QA round 31: one with another master key than the API's failed each run it took); one that opens
 * some runs the others' jobs (QA round 33c F2: one job an API with a wrong key had sealed stopped
 * every runner from starting).
 */
export async function unheldMasterKeys(prisma: PrismaClient, keyring: MasterKeyring): Promise<UnheldMasterKeys | null> {
  const inUse = await prisma.$queryRaw<{ key_id: string; sealed: number; jobs: string[] }[]>`
    SELECT key_id, count(*)::int AS sealed, (array_agg(job ORDER BY job) FILTER (WHERE job IS NOT NULL))[1:${JOBS_NAMED}] AS jobs FROM (
      SELECT split_part(source_config_encrypted, ':', 3) AS key_id, id::text || ' ("' || name || '")' AS job FROM ingestion_jobs WHERE NOT is_deleted
      UNION ALL SELECT split_part(wrapped_key, ':', 3), NULL FROM encryption_key_versions
    ) s GROUP BY key_id ORDER BY key_id`;
  const unheld = inUse.filter((k) => !keyring.holds(k.key_id));
  if (unheld.length === 0) return null;
  const said = unheld
    .map((k) => `${k.sealed} ${k.sealed === 1 ? 'secret' : 'secrets'} sealed with master key ${k.key_id}${(k.jobs ?? []).length > 0 ? `, of jobs ${(k.jobs ?? []).join(', ')}${k.jobs.length === JOBS_NAMED ? ' …' : ''}` : ''}`)
    .join('; ');
  return {
    opensNone: unheld.length === inUse.length,
    sealed: unheld.reduce((n, k) => n + k.sealed, 0),
    keyIds: unheld.map((k) => k.key_id),
    message:
      `is not the master key of this database's secrets (${said}; this process holds ${keyring.keyIds.join(', ')}): ` +
      "give every Sluice process the installation's master key, and its previous one in SLUICE_MASTER_KEY_PREVIOUS during a master key rotation",
  };
}

/**
 * Refuses to seal a new value with a keyring that opens none of the secrets at rest: its key is not
 * the installation's, and what it sealed no other Sluice process could open (QA round 33c F2: an API
 * started with a wrong key sealed one job's config, and from then on every runner refused to start).
 */
export async function refuseForeignSeal(prisma: PrismaClient, keyring: MasterKeyring): Promise<void> {
  const unheld = await unheldMasterKeys(prisma, keyring);
  if (!unheld?.opensNone) return;
  throw new ConflictError(
    `SLUICE_MASTER_KEY ${unheld.message}; nothing was written: a value this process sealed no other Sluice process could open`,
  );
}
