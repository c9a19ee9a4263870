import type { PrismaClient } from '@sluice/db';
import { SEALED_PREFIX, type MasterKeyring } from './master-keyring.ts';
import { openSourceConfig, sealSourceConfig } from './source-config-seal.ts';

/** Where the sealed values live, for the wrap contexts. */
function keyContext(name: string, version: number): string {
  return `encryption_key_versions:${name}:${version}`;
}

/** What was sealed again (what the keyring cannot open is left as it is: `unheldMasterKeys` says it). */
export interface ResealResult {
  sourceConfigs: number;
  keyVersions: number;
}

/**
 * Master key rotation, second half: re-seals every value at rest that an older master key sealed
 * (jobs' source_config, named keys' material) with the keyring's active key. Start the processes
 * with the new key active and the old one as previous, run this (the API does at its start), then
 * drop the old key. Each row is rewritten only if it still holds the value read (compare-and-set),
 * so it is safe while the API runs; running it twice does nothing the second time. A value sealed
 * with a key the keyring does not hold is left as it is.
 */
export async function resealAtRest(prisma: PrismaClient, keyring: MasterKeyring): Promise<ResealResult> {
  let sourceConfigs = 0;
  // Only what another key sealed is read (the API runs this at each start).
  const current = `${SEALED_PREFIX}${keyring.activeKeyId}:`;
  const jobs = await prisma.ingestionJob.findMany({ where: { NOT: { sourceConfigEncrypted: { startsWith: current } } }, select: { id: true, sourceConfigEncrypted: true } });
  for (const job of jobs) {
    if (!keyring.needsReseal(job.sourceConfigEncrypted) || !keyring.canOpen(job.sourceConfigEncrypted)) continue;
    const fresh = sealSourceConfig(keyring, job.id, openSourceConfig(keyring, job.id, job.sourceConfigEncrypted));
    const r = await prisma.ingestionJob.updateMany({
      where: { id: job.id, sourceConfigEncrypted: job.sourceConfigEncrypted },
      data: { sourceConfigEncrypted: fresh },
    });
    sourceConfigs += r.count;
  }
  let keyVersions = 0;
  const versions = await prisma.encryptionKeyVersion.findMany({ where: { NOT: { wrappedKey: { startsWith: current } } }, select: { keyName: true, version: true, wrappedKey: true } });
  for (const v of versions) {
    if (!keyring.needsReseal(v.wrappedKey) || !keyring.canOpen(v.wrappedKey)) continue;
    const r = await prisma.encryptionKeyVersion.updateMany({
      where: { keyName: v.keyName, version: v.version, wrappedKey: v.wrappedKey },
      data: { wrappedKey: keyring.reseal(v.wrappedKey, keyContext(v.keyName, v.version)) },
    });
    keyVersions += r.count;
  }
  return { sourceConfigs, keyVersions };
}
