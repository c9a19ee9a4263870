import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SecretRegistry } from '@sluice/logging';
import { runConnectorProcess } from './connector-process.ts';

test("a secret across the stderr tail's cut at 2000 characters is masked whole, not cut first (QA round 18)", async () => {
  const secret = 'LONGSECRET-abcdefghijklmnopqrstuvwxyz-0123456789ABC';
  // The secret starts 40 characters before the cut, after text that is no secret.
  const line = `${'x'.repeat(1960)}${secret} and more`;
  const registry = new SecretRegistry();
  registry.add(secret);
  const outcome = await runConnectorProcess({
    verb: 'read',
    // A process that writes the line to stderr and fails, as a crashing connector does.
    launch: () => ({ command: 'sh', args: ['-c', `printf '%s\\n' '${line}' >&2; exit 1`] }),
    onLine: () => undefined,
    maskStderr: (l) => registry.mask(l),
  });
  assert.equal(outcome.exitCode, 1);
  assert.equal(outcome.stderrTail.length, 1);
  const kept = outcome.stderrTail[0] ?? '';
  assert.ok(!kept.includes('LONGSECRET'), kept.slice(1950));
  assert.equal(kept, `${'x'.repeat(1960)}********** and more`);
});

test('lines are handed on whole and in order, however the pipe cuts them: a line of many chunks, many lines in a chunk, a last line without newline, multi-byte characters', async () => {
  // 30 MB in one line (some 460 pipe chunks), then short lines, then one with no newline at the end.
  const script = [
    "process.stdout.write('a'.repeat(30e6) + 'é\\n');",
    "process.stdout.write('one\\ntwo\\n\\nthree é😀');",
  ].join('');
  const lines: string[] = [];
  const outcome = await runConnectorProcess({
    verb: 'read',
    launch: () => ({ command: process.execPath, args: ['-e', script] }),
    onLine: (l) => {
      lines.push(l.length > 100 ? `${l.length}:${l.slice(-3)}` : l);
      return undefined;
    },
    maskStderr: (l) => l,
  });
  assert.equal(outcome.exitCode, 0);
  assert.deepEqual(lines, [`${30e6 + 1}:aaé`, 'one', 'two', 'three é😀']);
});

test('a line longer than maxLineBytes ends the connector with line_too_long', async () => {
  const outcome = await runConnectorProcess({
    verb: 'read',
    launch: () => ({ command: process.execPath, args: ['-e', "process.stdout.write('a'.repeat(5e6)); setTimeout(() => {}, 30000);"] }),
    onLine: () => undefined,
    maskStderr: (l) => l,
    maxLineBytes: 1_000_000,
  });
  assert.equal(outcome.terminated, 'line_too_long');
});
