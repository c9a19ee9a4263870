/**
 * Rotating SLUICE_MASTER_KEY: with the new key active and the old one previous, everything still
 * opens; resealAtRest rewrites every sealed value with the new key; the old key can then go.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { EncryptionKeyStore, MasterKeyring, openSourceConfig, resealAtRest, sealSourceConfig } from '@sluice/crypto';
import { createTestDatabase } from '../support/database.ts';

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
    assert.deepEqual(await resealAtRest(db.prisma, rotated), { sourceConfigs: 1, keyVersions: 1 });
    assert.deepEqual(await resealAtRest(db.prisma, rotated), { sourceConfigs: 0, keyVersions: 0 }, 'a second pass has nothing to do');

    const onlyNew = new MasterKeyring(newKey);
    const job = await db.prisma.ingestionJob.findUniqueOrThrow({ where: { id } });
    assert.deepEqual(openSourceConfig(onlyNew, id, job.sourceConfigEncrypted), { password: 'pw' });
    assert.equal((await new EncryptionKeyStore(db.prisma, onlyNew).loadCipher('pii')).decrypt(token), 'alice@example.com', 'column values survive the master key rotation');
    await assert.rejects(new EncryptionKeyStore(db.prisma, before).loadCipher('pii'), /does not hold/);
  } finally {
    await db.drop();
  }
});
