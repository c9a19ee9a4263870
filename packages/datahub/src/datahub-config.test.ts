import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ConfigError } from '@sluice/core';
import { parseConfig } from '@sluice/core/config';
import { datahubConfigFields, datahubPublisherOptions } from './datahub-config.ts';

const schema = z.object(datahubConfigFields);

test('DataHub is off unless DATAHUB_GMS_URL is set; empty values count as unset', () => {
  assert.deepEqual(datahubPublisherOptions(parseConfig(schema, {})), { gmsUrl: null, token: null, env: 'PROD' });
  assert.deepEqual(datahubPublisherOptions(parseConfig(schema, { DATAHUB_GMS_URL: '', DATAHUB_GMS_TOKEN: '' })), { gmsUrl: null, token: null, env: 'PROD' });
  assert.deepEqual(
    datahubPublisherOptions(parseConfig(schema, { DATAHUB_GMS_URL: 'http://gms:8080', DATAHUB_GMS_TOKEN: 'abc', SLUICE_DATAHUB_ENV: 'DEV' })),
    { gmsUrl: 'http://gms:8080', token: 'abc', env: 'DEV' },
  );
});

test('a wrong setting names the variable', () => {
  assert.throws(() => parseConfig(schema, { DATAHUB_GMS_URL: 'gms:8080' }), (e: unknown) => e instanceof ConfigError && e.setting === 'DATAHUB_GMS_URL');
  assert.throws(() => parseConfig(schema, { SLUICE_DATAHUB_ENV: 'prod' }), (e: unknown) => e instanceof ConfigError && e.setting === 'SLUICE_DATAHUB_ENV');
});
