/**
 * One module owns run and task state (packages/engine/src/state-store.ts). This test reads the
 * workspace's source and fails when any other file writes dag_runs or task_instances rows
 * (through Prisma or raw SQL) or the job's run-following status columns.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OWNER = 'packages/engine/src/state-store.ts';

const WRITES: RegExp[] = [
  /\b(taskInstance|dagRun)\s*\.\s*(update|updateMany|updateManyAndReturn|upsert|create|createMany|createManyAndReturn|delete|deleteMany)\s*\(/,
  /\b(UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+"?(task_instances|dag_runs)\b/i,
  /\b(lastStartedAt|lastCompletedAt|lastFailedAt)\s*:/,
];

function sourceFiles(dir: string, out: string[]): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'generated' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

describe('state ownership', () => {
  it('only the state store writes runs, task instances and the job status they drive', () => {
    const offenders: string[] = [];
    let ownerWrites = 0;
    for (const file of sourceFiles(path.join(root, 'packages'), [])) {
      const rel = path.relative(root, file);
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (!WRITES.some((w) => w.test(line))) return;
        if (rel === OWNER) ownerWrites++;
        else offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.ok(ownerWrites > 10, 'the patterns still find the state store’s own writes');
    assert.deepEqual(offenders, [], 'state written outside packages/engine/src/state-store.ts');
  });
});
