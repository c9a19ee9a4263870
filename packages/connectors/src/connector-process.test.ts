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
