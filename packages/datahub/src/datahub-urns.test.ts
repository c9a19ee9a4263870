import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dataFlowUrn, dataJobUrn, datasetUrn, domainUrn, encodeUrnPart, ownerUrn, tagUrn } from './datahub-urns.ts';

test('URNs have the shape DataHub\'s SDK gives them', () => {
  assert.equal(datasetUrn('iceberg', 'raw.users', 'PROD'), 'urn:li:dataset:(urn:li:dataPlatform:iceberg,raw.users,PROD)');
  const flow = dataFlowUrn('0d9c7b1e-4b7e-4c55-9d1e-3a2f1b6c7d8e', 'DEV');
  assert.equal(flow, 'urn:li:dataFlow:(sluice,0d9c7b1e-4b7e-4c55-9d1e-3a2f1b6c7d8e,DEV)');
  assert.equal(dataJobUrn(flow, 'load'), `urn:li:dataJob:(${flow},load)`);
});

test('reserved characters inside URN parts are percent-encoded as DataHub\'s UrnEncoder does', () => {
  assert.equal(encodeUrnPart('a,b(c)d\u241fe'), 'a%2Cb%28c%29d%E2%90%9Fe');
  assert.equal(encodeUrnPart('plain.name-1'), 'plain.name-1');
  assert.equal(tagUrn('tier (1), gold'), 'urn:li:tag:tier %281%29%2C gold');
  assert.equal(datasetUrn('iceberg', 'ns.t(1)', 'PROD'), 'urn:li:dataset:(urn:li:dataPlatform:iceberg,ns.t%281%29,PROD)');
});

test('identifiers that are already URNs are kept; ids become URNs', () => {
  assert.equal(tagUrn('urn:li:tag:pii'), 'urn:li:tag:pii');
  assert.equal(tagUrn('pii'), 'urn:li:tag:pii');
  assert.equal(domainUrn('urn:li:domain:7a3c'), 'urn:li:domain:7a3c');
  assert.equal(domainUrn('marketing'), 'urn:li:domain:marketing');
  assert.equal(ownerUrn('jdoe'), 'urn:li:corpuser:jdoe');
  assert.equal(ownerUrn('urn:li:corpuser:jdoe'), 'urn:li:corpuser:jdoe');
  assert.equal(ownerUrn('urn:li:corpGroup:data-eng'), 'urn:li:corpGroup:data-eng');
});
