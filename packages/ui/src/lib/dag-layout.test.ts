import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LiveDagTask } from '../shared/events.ts';
import { layoutDag, topoOrder } from './dag-layout.ts';

const t = (task_id: string, upstream: string[], is_mapped: boolean): LiveDagTask => ({ task_id, task_type: task_id, upstream_task_ids: upstream, is_mapped });
const ingestion = [t('archive', ['load'], false), t('load', ['transform'], true), t('stage', ['extract'], true), t('transform', ['stage'], true), t('extract', [], false)];

test('tasks are ordered upstream first', () => {
  assert.deepEqual(topoOrder(ingestion).map((x) => x.task_id), ['extract', 'stage', 'transform', 'load', 'archive']);
});

test('mapped tasks fan out into one node per stream, chained stream by stream', () => {
  const { nodes, edges } = layoutDag(ingestion, ['users', 'orders', 'items'], { w: 100, h: 10 });
  assert.equal(nodes.length, 1 + 3 * 3 + 1);
  const key = (e: (typeof edges)[number]): string => `${e.from.task_id}[${e.from.map_index}]>${e.to.task_id}[${e.to.map_index}]`;
  const all = edges.map(key);
  assert.ok(all.includes('extract[-1]>stage[0]') && all.includes('extract[-1]>stage[2]'), 'extract fans out to every stream');
  assert.ok(all.includes('stage[1]>transform[1]'));
  assert.ok(!all.includes('stage[1]>transform[0]'), 'streams do not cross');
  assert.ok(all.includes('load[0]>archive[-1]') && all.includes('load[2]>archive[-1]'), 'archive fans in');
  assert.equal(edges.length, 3 + 3 + 3 + 3);
  const x = (id: string): number => nodes.find((n) => n.task_id === id)?.x ?? -1;
  assert.ok(x('extract') < x('stage') && x('stage') < x('transform') && x('transform') < x('load') && x('load') < x('archive'));
});

test('before the streams are known a mapped task is one node', () => {
  const { nodes, edges } = layoutDag(ingestion, [], { w: 100, h: 10 });
  assert.equal(nodes.length, 5);
  assert.equal(edges.length, 4);
});
