import type { ManifestFile } from './types.ts';

/**
 * How a commit merges a table's data manifests, from its properties with Iceberg's defaults (the
 * Java library's merge append: `commit.manifest-merge.enabled` true, `commit.manifest.min-count-to-merge`
 * 100, `commit.manifest.target-size-bytes` 8 MiB).
 */
export interface ManifestMergeSettings {
  enabled: boolean;
  minCountToMerge: number;
  targetSizeBytes: number;
}

const DEFAULTS: ManifestMergeSettings = { enabled: true, minCountToMerge: 100, targetSizeBytes: 8 * 1024 * 1024 };

/** The table's manifest merge settings; a property that does not read as its type keeps the default. */
export function manifestMergeSettings(properties: Readonly<Record<string, string>>): ManifestMergeSettings {
  const whole = (key: string, fallback: number): number => {
    const v = properties[key];
    return v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : fallback;
  };
  const enabled = properties['commit.manifest-merge.enabled']?.trim().toLowerCase();
  return {
    enabled: enabled === undefined ? DEFAULTS.enabled : enabled !== 'false',
    minCountToMerge: whole('commit.manifest.min-count-to-merge', DEFAULTS.minCountToMerge),
    targetSizeBytes: whole('commit.manifest.target-size-bytes', DEFAULTS.targetSizeBytes),
  };
}

/**
 * The groups of a commit's data manifests (newest first, this commit's own at the head) that are
 * to be written as one manifest each; the others stay as they are. Without merging, a table
 * appended to every minute gains a manifest a minute, every one of which each commit and each
 * reader's scan planning opens (QA round 51a O2).
 *
 * As Iceberg's writers do it: the manifests are packed, oldest first, into bins of up to
 * `targetSizeBytes` (a larger manifest is a bin of its own), so that the bin holding the newest is
 * the one left partly filled. A bin of more than one manifest is merged, except the newest one
 * while it holds fewer than `minCountToMerge`: small commits gather there, and are merged once
 * that many have.
 */
export function manifestsToMerge(manifests: readonly ManifestFile[], settings: ManifestMergeSettings): ManifestFile[][] {
  const newest = manifests[0];
  if (!settings.enabled || newest === undefined) return [];
  const bins: ManifestFile[][] = [];
  let bin: ManifestFile[] = [];
  let size = 0n;
  for (let i = manifests.length - 1; i >= 0; i--) {
    const m = manifests[i] as ManifestFile;
    if (bin.length > 0 && size + m.manifest_length > BigInt(settings.targetSizeBytes)) {
      bins.push(bin);
      bin = [];
      size = 0n;
    }
    bin.unshift(m);
    size += m.manifest_length;
  }
  if (bin.length > 0) bins.push(bin);
  return bins.filter((b) => b.length > 1 && !(b.includes(newest) && b.length < settings.minCountToMerge));
}
