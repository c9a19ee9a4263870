/**
 * Which small data files a table's compaction rewrites, and into how many groups: the table's
 * property `sluice.compaction.min-input-files` (default 8; 0 turns compaction off) and the data
 * file target size (Iceberg's default `write.target-file-size-bytes`, 512 MiB, which this writer's
 * files are cut at).
 *
 * Files are sorted into size tiers, each four times the one below (under 4 KiB, under 16 KiB, …),
 * and a tier is rewritten once it holds `minInputFiles` files: their rows go into one file (or
 * several of the target size), a tier or two higher. So a file is rewritten about once per tier
 * it climbs — a few times between a run's few kilobytes and the target — where rewriting every
 * small file whenever there are enough of them would rewrite the largest again each time (as
 * size-tiered compaction in LSM stores does it). Files of three quarters of the target or more are
 * never rewritten (Iceberg's `min-file-size-bytes` default for its rewrite), nor a group whose
 * files together exceed the target: a compaction is at most one target-sized file of work.
 */
export interface CompactionSettings {
  /** Files a tier must hold before they are rewritten together; 0: never. */
  minInputFiles: number;
  targetFileSizeBytes: number;
}

/** The data file target size this writer cuts its files at (DuckDB's `FILE_SIZE_BYTES`, Iceberg's default target). */
export const TARGET_FILE_SIZE_BYTES = 512 * 1024 * 1024;

const DEFAULT_MIN_INPUT_FILES = 8;
const TIER_BASE_BYTES = 4 * 1024;
const TIER_FACTOR = 4;

/** The table's compaction settings; a property that is not a whole number keeps the default. */
export function compactionSettings(properties: Readonly<Record<string, string>>): CompactionSettings {
  const v = properties['sluice.compaction.min-input-files']?.trim();
  return {
    minInputFiles: v !== undefined && /^\d+$/.test(v) ? Number(v) : DEFAULT_MIN_INPUT_FILES,
    targetFileSizeBytes: TARGET_FILE_SIZE_BYTES,
  };
}

/** A tier of a file's size: 0 under 4 KiB, then one more for each factor of four. */
export function sizeTier(bytes: bigint): number {
  let tier = 0;
  for (let bound = BigInt(TIER_BASE_BYTES); bytes >= bound; bound *= BigInt(TIER_FACTOR)) tier += 1;
  return tier;
}

/**
 * The groups of files to rewrite, each group's files to become one (or more target-sized) files,
 * smallest tier first; none when no tier has enough small files. Within a tier the smallest files
 * are taken first, while they fit in the target size together.
 */
export function compactionGroups<F extends { size: bigint }>(files: readonly F[], settings: CompactionSettings): F[][] {
  if (settings.minInputFiles < 2) return [];
  const small = BigInt(Math.floor(settings.targetFileSizeBytes * 0.75));
  const target = BigInt(settings.targetFileSizeBytes);
  const tiers = new Map<number, F[]>();
  for (const f of files) {
    if (f.size >= small) continue;
    const tier = sizeTier(f.size);
    tiers.set(tier, [...(tiers.get(tier) ?? []), f]);
  }
  const groups: F[][] = [];
  for (const tier of [...tiers.keys()].sort((a, b) => a - b)) {
    const members = [...(tiers.get(tier) ?? [])].sort((a, b) => (a.size < b.size ? -1 : a.size > b.size ? 1 : 0));
    const group: F[] = [];
    let total = 0n;
    for (const f of members) {
      if (total + f.size > target) break;
      group.push(f);
      total += f.size;
    }
    if (group.length >= settings.minInputFiles) groups.push(group);
  }
  return groups;
}
