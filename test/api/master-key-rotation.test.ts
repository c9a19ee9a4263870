/**
 * Rotating SLUICE_MASTER_KEY: with the new key active and the old one previous, everything still
 * opens; resealAtRest rewrites every sealed value with the new key; the old key can then go.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { EncryptionKeyStore, MasterKeyring, openSourceConfig, resealAtRest, sealSourceConfig, unheldMasterKeys } from '@sluice/crypto';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { ingestBody, startApi } from './api-harness.ts';

test('old values open with the previous key, get resealed, and then need only the new key', async () => {
  const db = await createTestDatabase();
  try {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = new MasterKeyring(oldKey);
    const id = '6f1e7c2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b';
    await db.prisma.ingestionJob.create({
      data: { id, name: 'j', sourceName: 'source-faker', sourceConfigEncrypted: sealSourceConfig(before, id, { password: 'pw' }), secretPaths: ['password'], schemaName: 's', mode: 'append' },
    });
    const oldStore = new EncryptionKeyStore(db.prisma, before);
    await oldStore.create('pii', null);
    const token = (await oldStore.loadCipher('pii')).encrypt('alice@example.com');

    const rotated = new MasterKeyring(newKey, [oldKey]);
    assert.equal((await new EncryptionKeyStore(db.prisma, rotated).loadCipher('pii')).decrypt(token), 'alice@example.com');
    // A keyring without the old key leaves its values as they are, and says it opens none of them.
    assert.deepEqual(await resealAtRest(db.prisma, new MasterKeyring(newKey)), { sourceConfigs: 0, keyVersions: 0 });
    const unheld = await unheldMasterKeys(db.prisma, new MasterKeyring(newKey));
    assert.deepEqual(unheld && { opensNone: unheld.opensNone, sealed: unheld.sealed, keyIds: unheld.keyIds }, { opensNone: true, sealed: 2, keyIds: [before.activeKeyId] });
    assert.deepEqual(await resealAtRest(db.prisma, rotated), { sourceConfigs: 1, keyVersions: 1 });
    assert.deepEqual(await resealAtRest(db.prisma, rotated), { sourceConfigs: 0, keyVersions: 0 }, 'a second pass has nothing to do');
    assert.equal(await unheldMasterKeys(db.prisma, rotated), null);

    const onlyNew = new MasterKeyring(newKey);
    const job = await db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } });
    assert.deepEqual(openSourceConfig(onlyNew, id, job.sourceConfigEncrypted), { password: 'pw' });
    assert.equal((await new EncryptionKeyStore(db.prisma, onlyNew).loadCipher('pii')).decrypt(token), 'alice@example.com', 'column values survive the master key rotation');
    await assert.rejects(new EncryptionKeyStore(db.prisma, before).loadCipher('pii'), /does not hold/);
  } finally {
    await db.drop();
  }
});

test("the API's start seals again what the previous master key sealed, so that it can go; a key it does not hold is said (QA round 32b: nothing did, and a rotation could not end)", async () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const id = '7a2e8c3b-4c5d-4f60-9b1c-1d2e3f4a5b6c';
  const seed = async (db: TestDatabase): Promise<void> => {
    const before = new MasterKeyring(oldKey);
    await db.prisma.ingestionJob.create({
      data: { id, name: 'j', sourceName: 'source-faker', sourceConfigEncrypted: sealSourceConfig(before, id, { password: 'pw' }), secretPaths: ['password'], schemaName: 's', mode: 'append' },
    });
    await new EncryptionKeyStore(db.prisma, before).create('pii', null);
  };
  const rotating = await startApi({ masterKey: newKey.toString('base64'), previousMasterKeys: [oldKey.toString('base64')], seed });
  try {
    const onlyNew = new MasterKeyring(newKey);
    const job = await rotating.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } });
    assert.deepEqual(openSourceConfig(onlyNew, id, job.sourceConfigEncrypted), { password: 'pw' }, 'sealed with the new key before the API answered');
    await new EncryptionKeyStore(rotating.db.prisma, onlyNew).loadCipher('pii');
    assert.ok(
      rotating.logs.some((l) => l.includes(`master key rotation: sealed 1 source config and 1 encryption key version again with the active SLUICE_MASTER_KEY (${onlyNew.activeKeyId})`)),
      rotating.logs.join('\n'),
    );
  } finally {
    await rotating.close();
  }
  // An API given only the new key while secrets are still sealed with the old one says so, and starts.
  const dev = 'dev-token-rotation-1234';
  const early = await startApi({ masterKey: newKey.toString('base64'), seed, devToken: dev });
  try {
    const oldId = new MasterKeyring(oldKey).activeKeyId;
    const newId = new MasterKeyring(newKey).activeKeyId;
    // Naming the key that sealed them (QA round 33a F8: "a master key this API does not hold").
    assert.ok(
      early.logs.some((l) => l.includes(`SLUICE_MASTER_KEY is not this installation's: all 2 secrets at rest are sealed with master key ${oldId}, and this API holds ${newId}.`)),
      early.logs.join('\n'),
    );
    // It seals nothing with a key no other process holds (QA round 33c F2: one job it made stopped every runner from starting).
    const create = await early.request('POST', '/api/airbyte/ingest', { token: dev, body: ingestBody() });
    assert.equal(create.status, 409, create.text);
    assert.match(JSON.stringify(create.body), /SLUICE_MASTER_KEY is not the master key of this database's secrets .*nothing was written/);
    assert.equal(await early.db.prisma.ingestionJob.count(), 1);
    const key = await early.request('POST', '/api/encryption-keys', { token: dev, body: { name: 'more' } });
    assert.equal(key.status, 409, key.text);
    assert.equal(await early.db.prisma.encryptionKey.count(), 1);
    // A config PATCH of a job it cannot open is a conflict with the job's state, and writes nothing
    // (QA round 34a F3: 400 "sealed: …"); a schedule PATCH needs no secret and is made.
    const sealedBefore = (await early.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } })).sourceConfigEncrypted;
    const patch = await early.request('PATCH', `/api/airbyte/ingest/${id}`, { token: dev, body: { source_config: { count: 3 } } });
    assert.equal(patch.status, 409, patch.text);
    assert.match(JSON.stringify(patch.body), new RegExp(`job ${id}'s source_config is sealed with master key ${oldId}, which this API does not hold`));
    assert.equal((await early.db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } })).sourceConfigEncrypted, sealedBefore);
    const paused = await early.request('PATCH', `/api/airbyte/ingest/${id}`, { token: dev, body: { paused: true } });
    assert.equal(paused.status, 200, paused.text);
    // Such a job is listed, its config said unreadable, and the list answers (before: 400 for the whole list).
    const list = await early.request('GET', '/api/airbyte/ingest', { token: dev });
    assert.equal(list.status, 200, list.text);
    const [job] = (list.body as { jobs: { job_id: string; source_config: unknown; source_config_error: string | null }[] }).jobs;
    assert.equal(job?.job_id, id);
    assert.deepEqual(job?.source_config, {});
    assert.match(job?.source_config_error ?? '', new RegExp(`^sealed with master key ${oldId}, which this API does not hold \\(it holds ${newId}\\): to read or change it, give every Sluice process the installation's master key, and during a master key rotation the previous one in SLUICE_MASTER_KEY_PREVIOUS`));
  } finally {
    await early.close();
  }
});
