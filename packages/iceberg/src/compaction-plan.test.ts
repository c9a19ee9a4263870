import assert from 'node:assert/strict';
import test from 'node:test';
import { TARGET_FILE_SIZE_BYTES, compactionGroups, compactionSettings, sizeTier } from './compaction-plan.ts';

const KiB = 1024n;
const MiB = 1024n * KiB;
const file = (name: string, size: bigint): { name: string; size: bigint } => ({ name, size });
const settings = { minInputFiles: 4, targetFileSizeBytes: TARGET_FILE_SIZE_BYTES };

test('size tiers grow by fours from 4 KiB', () => {
  assert.deepEqual(
    [0n, 4n * KiB - 1n, 4n * KiB, 16n * KiB - 1n, 16n * KiB, MiB, 384n * MiB].map(sizeTier),
    [0, 0, 1, 1, 2, 5, 9],
  );
});

test('a tier is rewritten once it holds min-input-files files, and a tier short of them is left', () => {
  const runs = [1, 2, 3, 4].map((i) => file(`run${i}`, 10n * KiB));
  const older = [file('older1', 200n * KiB), file('older2', 210n * KiB)];
  assert.deepEqual(compactionGroups([...older, ...runs], settings).map((g) => g.map((f) => f.name)), [['run1', 'run2', 'run3', 'run4']]);
  assert.deepEqual(compactionGroups([...older, ...runs.slice(0, 3)], settings), []);
});

test('the output of a compaction climbs a tier, and is not rewritten with the next small files', () => {
  const compacted = file('compacted', 40n * KiB);
  const next = [1, 2, 3].map((i) => file(`next${i}`, 10n * KiB));
  assert.notEqual(sizeTier(compacted.size), sizeTier(10n * KiB));
  assert.deepEqual(compactionGroups([compacted, ...next], settings), []);
});

test('files of three quarters of the target or more stay, and a group stops at the target size', () => {
  const big = [1, 2, 3, 4].map((i) => file(`big${i}`, 400n * MiB));
  assert.deepEqual(compactionGroups(big, settings), []);
  const mid = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => file(`mid${i}`, 60n * MiB + BigInt(i)));
  const groups = compactionGroups(mid, settings);
  assert.equal(groups.length, 1);
  assert.deepEqual(groups[0]?.map((f) => f.name), ['mid1', 'mid2', 'mid3', 'mid4', 'mid5', 'mid6', 'mid7', 'mid8']);
});

test('min-input-files comes from the table property; 0 (or 1) turns compaction off; anything else keeps 8', () => {
  assert.equal(compactionSettings({}).minInputFiles, 8);
  assert.equal(compactionSettings({ 'sluice.compaction.min-input-files': ' 3 ' }).minInputFiles, 3);
  assert.equal(compactionSettings({ 'sluice.compaction.min-input-files': 'many' }).minInputFiles, 8);
  const tiny = [1, 2, 3].map((i) => file(`f${i}`, KiB));
  assert.deepEqual(compactionGroups(tiny, { ...settings, minInputFiles: 0 }), []);
  assert.deepEqual(compactionGroups(tiny, { ...settings, minInputFiles: 1 }), []);
  assert.equal(compactionGroups(tiny, { ...settings, minInputFiles: 3 }).length, 1);
});
