import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Snapshot } from '@sluice/iceberg';
import { SUMMARY_EXTRACT_STARTED_AT, tableLoadConflict } from './later-read.ts';

const JOB = 'job-1';
const OURS = new Date('2026-11-30T10:00:00Z');
let id = 0n;
/** A load's commit: its run, when its extract started, when it committed. */
const commit = (runId: string, extractStarted: string | null, committed: string, jobId = JOB): Snapshot => ({
  'snapshot-id': (id += 1n),
  'sequence-number': Number(id),
  'timestamp-ms': Date.parse(committed),
  'manifest-list': `s3://w/${id}.avro`,
  summary: {
    operation: 'append',
    'sluice.job-id': jobId,
    'sluice.run-id': runId,
    ...(extractStarted === null ? {} : { [SUMMARY_EXTRACT_STARTED_AT]: extractStarted }),
  },
});
const conflict = (snapshots: Snapshot[], appendIncremental = false) =>
  tableLoadConflict({ snapshots }, { jobId: JOB, runId: 'ours', extractStartedAt: OURS, appendIncremental });

test("a commit of a run whose extract started after this run's supersedes it; the latest such run is named", () => {
  const found = conflict([
    commit('older', '2026-11-30T09:00:00Z', '2026-11-30T09:05:00Z'),
    commit('newer', '2026-11-30T10:01:00Z', '2026-11-30T10:02:00Z'),
    commit('newest', '2026-11-30T10:03:00Z', '2026-11-30T10:04:00Z'),
  ]);
  assert.deepEqual(found, { kind: 'superseded', runId: 'newest', extractStartedAt: new Date('2026-11-30T10:03:00Z'), loadedAt: new Date('2026-11-30T10:04:00Z') });
});

test('in incremental append, a commit after this run read, by a run that read earlier, overlaps it; supersession is answered first', () => {
  const overlapping = commit('earlier', '2026-11-30T09:50:00Z', '2026-11-30T10:01:00Z');
  assert.deepEqual(conflict([overlapping], true), { kind: 'overlap', runId: 'earlier', loadedAt: new Date('2026-11-30T10:01:00Z'), ourExtractStartedAt: OURS });
  assert.equal(conflict([overlapping], false), null, 'merge and overwrite: the rows of this run are newer');
  assert.equal(conflict([overlapping, commit('later', '2026-11-30T10:02:00Z', '2026-11-30T10:03:00Z')], true)?.kind, 'superseded');
});

test("this run's own commits, other jobs', and commits that record no extract start are not compared", () => {
  assert.equal(
    conflict(
      [
        commit('ours', '2026-11-30T10:00:00Z', '2026-11-30T10:05:00Z'),
        commit('other-job-run', '2026-11-30T10:01:00Z', '2026-11-30T10:02:00Z', 'job-2'),
        commit('before-this-version', null, '2026-11-30T10:03:00Z'),
        commit('long-ago', '2026-11-30T08:00:00Z', '2026-11-30T08:01:00Z'),
      ],
      true,
    ),
    null,
  );
});
