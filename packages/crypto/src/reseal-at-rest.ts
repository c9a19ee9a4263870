import type { PrismaClient } from '@sluice/db';
import { SEALED_PREFIX, type MasterKeyring } from './master-keyring.ts';
import { openSourceConfig, sealSourceConfig } from './source-config-seal.ts';

/** Where the sealed values live, for the wrap contexts. */
function keyContext(name: string, version: number): string {
  return `encryption_key_versions:${name}:${version}`;
}

export interface ResealResult {
  sourceConfigs: number;
  keyVersions: number;
  /** Values sealed with a key the keyring does not hold: left as they are. */
  unopenable: number;
  /** The ids of the keys that sealed them. */
  unheldKeyIds: string[];
  /** Whether the keyring opens none of the values at rest (there being some): it is not the installation's key. */
  opensNone: boolean;
}

/**
 * Master key rotation, second half: re-seals every value at rest that an older master key sealed
 * (jobs' source_config, named keys' material) with the keyring's active key. Start the processes
 * with the new key active and the old one as previous, run this (the API does at its start), then
 * drop the old key. Each row is rewritten only if it still holds the value read (compare-and-set),
 * so it is safe while the API runs; running it twice does nothing the second time. A value sealed
 * with a key the keyring does not hold is left as it is, and counted.
 */
export async function resealAtRest(prisma: PrismaClient, keyring: MasterKeyring): Promise<ResealResult> {
  let sourceConfigs = 0;
  let unopenable = 0;
  const unheld = new Set<string>();
  const unopened = (sealed: string): void => {
    unopenable += 1;
    unheld.add(keyring.sealedWith(sealed) ?? '(malformed)');
  };
  // Only what another key sealed is read (the API runs this at each start).
  const current = `${SEALED_PREFIX}${keyring.activeKeyId}:`;
  const jobs = await prisma.ingestionJob.findMany({ where: { NOT: { sourceConfigEncrypted: { startsWith: current } } }, select: { id: true, sourceConfigEncrypted: true } });
  for (const job of jobs) {
    if (!keyring.needsReseal(job.sourceConfigEncrypted)) continue;
    if (!keyring.canOpen(job.sourceConfigEncrypted)) {
      unopened(job.sourceConfigEncrypted);
      continue;
    }
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
    if (!keyring.needsReseal(v.wrappedKey)) continue;
    if (!keyring.canOpen(v.wrappedKey)) {
      unopened(v.wrappedKey);
      continue;
    }
    const r = await prisma.encryptionKeyVersion.updateMany({
      where: { keyName: v.keyName, version: v.version, wrappedKey: v.wrappedKey },
      data: { wrappedKey: keyring.reseal(v.wrappedKey, keyContext(v.keyName, v.version)) },
    });
    keyVersions += r.count;
  }
  // Whether anything at rest opens: what this key sealed, or what it sealed again just now.
  const opensSome =
    sourceConfigs + keyVersions > 0 ||
    (await prisma.ingestionJob.count({ where: { sourceConfigEncrypted: { startsWith: current } } })) > 0 ||
    (await prisma.encryptionKeyVersion.count({ where: { wrappedKey: { startsWith: current } } })) > 0;
  return { sourceConfigs, keyVersions, unopenable, unheldKeyIds: [...unheld].sort(), opensNone: unopenable > 0 && !opensSome };
}
