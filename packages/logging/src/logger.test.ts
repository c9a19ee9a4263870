import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childLogger, configSecrets, createMemoryLogger } from './logger.ts';

test("a config secret that is a common word masks it in a line's text, not in the fields Sluice sets", () => {
  configSecrets.add('runner');
  try {
    const { logger, lines } = createMemoryLogger();
    childLogger(logger, { component: 'runner', jobId: 'j-1' }).info('the runner got runner as a password', { detail: 'runner' });
    const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(line['component'], 'runner');
    assert.equal(line['jobId'], 'j-1');
    assert.equal(line['level'], 'info');
    assert.equal(line['message'], 'the ********** got ********** as a password');
    assert.equal(line['detail'], '**********');
  } finally {
    configSecrets.remove('runner');
  }
});
