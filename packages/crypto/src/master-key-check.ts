import type { PrismaClient } from '@sluice/db';
import type { MasterKeyring } from './master-keyring.ts';

/**
 * What the keyring cannot open of the secrets the database holds — the source configs of jobs
 * not deleted and the named keys' material, each sealed under the master key its header names —
 * said for SLUICE_MASTER_KEY's error or warning; null when it opens them all. A runner started
 * with another master key than the API's failed each run it took, at its first task (QA round 31:
 * "sealed with master key …, which this keyring does not hold").
 */
export async function unheldMasterKeys(prisma: PrismaClient, keyring: MasterKeyring): Promise<string | null> {
  const inUse = await prisma.$queryRaw<{ key_id: string; sealed: number }[]>`
    SELECT key_id, count(*)::int AS sealed FROM (
      SELECT split_part(source_config_encrypted, ':', 3) AS key_id FROM ingestion_jobs WHERE NOT is_deleted
      UNION ALL SELECT split_part(wrapped_key, ':', 3) FROM encryption_key_versions
    ) s GROUP BY key_id ORDER BY key_id`;
  const unheld = inUse.filter((k) => !keyring.holds(k.key_id));
  if (unheld.length === 0) return null;
  const said = unheld.map((k) => `${k.sealed} ${k.sealed === 1 ? 'secret' : 'secrets'} sealed with master key ${k.key_id}`).join(', ');
  return (
    `is not the master key of this database's secrets (${said}; this process holds ${keyring.keyIds.join(', ')}): ` +
    "give every Sluice process the API's SLUICE_MASTER_KEY, and its SLUICE_MASTER_KEY_PREVIOUS during a master key rotation"
  );
}
