import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configKeysHint } from './validate-source-config.ts';

const spec = {
  connectionSpecification: {
    type: 'object',
    properties: { count: { type: 'integer', default: 1000 }, seed: { type: 'integer', default: -1 }, parallelism: { type: 'integer' } },
  },
};

test("a refusal is told the config's keys the spec does not declare, and the defaults it leaves out that the connector names (QA round 33a F9)", () => {
  const keyError = "Something went wrong in the connector. See the logs for more details. ('count')";
  assert.equal(
    configKeysHint({ cnt: 10 }, spec, keyError),
    " (cnt is not in the connector's spec, whose properties are count, seed, parallelism; it leaves out count: 1000, which the spec gives as a default, and the connector asks for it: give it)",
  );
  assert.equal(configKeysHint({}, spec, keyError), " (it leaves out count: 1000, which the spec gives as a default, and the connector asks for it: give it)");
  // Nothing the refusal names, nothing unknown: nothing said (a default left out is no error by itself).
  assert.equal(configKeysHint({ parallelism: 2 }, spec, 'the API answered 401'), '');
  assert.equal(configKeysHint({ a: 1 }, { connectionSpecification: {} }, keyError), '');
});
