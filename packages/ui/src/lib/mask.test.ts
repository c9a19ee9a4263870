import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maskSecrets, restoreDisplayMasks } from './mask.ts';

test("an edited config gets back the values only this page masked; the API's own masks and new values stay", () => {
  // As the API shows it: `token` is no secret by the connector's spec (shown), `password` is (masked).
  const shown = { host: 'db', token: 'not-a-secret', password: '**********', hosts: [{ api_key: 'k-1' }] };
  const drawn = maskSecrets(shown) as typeof shown;
  assert.deepEqual(drawn, { host: 'db', token: '**********', password: '**********', hosts: [{ api_key: '**********' }] });
  const edited = { ...drawn, host: 'db2' };
  assert.deepEqual(restoreDisplayMasks(edited, shown), { host: 'db2', token: 'not-a-secret', password: '**********', hosts: [{ api_key: 'k-1' }] });
  assert.deepEqual(restoreDisplayMasks({ ...drawn, token: 'typed anew' }, shown), { ...shown, token: 'typed anew' });
  assert.deepEqual(restoreDisplayMasks({ extra: '**********' }, shown), { extra: '**********' }, 'a mask with nothing shown there stays, for the API to judge');
});
