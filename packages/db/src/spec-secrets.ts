import type { PrismaClient } from './client.ts';

/**
 * Records what a connector's spec says of a job's config: the secret paths it shows are added to
 * the job's, and the job's secrets are known from then on (`spec_secrets_known`), so that answers
 * mask those fields and no longer every string. Written only while the job still has the config
 * the paths were found in (compare-and-set on the sealed config): a config changed meanwhile is
 * the change's to classify. The one writer of `spec_secrets_known` after a create or a config
 * change, for the API (a spec that came after the create) and the runner (a run's extract).
 *
 * @param job the job as read, with `sealed` the config the paths were found in
 * @param found the secret paths the spec shows in that config
 * @returns the paths added (empty when the spec added none), or null when the config changed meanwhile
 */
export async function recordSpecSecrets(
  prisma: PrismaClient,
  job: { id: string; sealed: string; secretPaths: readonly string[]; specSecretsKnown: boolean },
  found: readonly string[],
): Promise<string[] | null> {
  const added = found.filter((p) => !job.secretPaths.includes(p));
  if (added.length === 0 && job.specSecretsKnown) return [];
  const written = await prisma.ingestionJob.updateMany({
    where: { id: job.id, sourceConfigEncrypted: job.sealed },
    data: { secretPaths: [...new Set([...job.secretPaths, ...added])].sort(), specSecretsKnown: true },
  });
  return written.count === 1 ? added : null;
}
