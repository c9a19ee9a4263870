export { MasterKeyring, masterKeyId, decodeMasterKey, SEALED_PREFIX } from './master-keyring.ts';
export { sealSourceConfig, openSourceConfig } from './source-config-seal.ts';
export { ColumnCipher, deterministicKeyVersion, generateKeyMaterial, isEncryptedValue } from './column-cipher.ts';
export type { ColumnEncryptionMode } from './column-cipher.ts';
export { EncryptionKeyStore } from './encryption-key-store.ts';
export type { EncryptionKeyInfo } from './encryption-key-store.ts';
export { resealAtRest } from './reseal-at-rest.ts';
export { unheldMasterKeys } from './master-key-check.ts';
export type { ResealResult } from './reseal-at-rest.ts';
