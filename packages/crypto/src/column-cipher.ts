import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { ValidationError } from '@sluice/core';

/**
 * Column value encryption with a named key (what the transform task applies for
 * `column_transformations[].encryption_key_name`).
 *
 * Output format (a string column in the Iceberg table):
 *
 *   randomized:    `sluice:v1:<key version>:<base64 of iv(12) | ciphertext | tag(16)>`
 *   deterministic: `sluice:v1d:<key version>:<base64 of iv(12) | ciphertext | tag(16)>`
 *
 * Both are AES-256-GCM with a 32-byte encryption subkey derived (HKDF-SHA256) from the key
 * version's material. The randomized form draws a fresh random IV per value. The deterministic
 * form is SIV-style: the IV is HMAC-SHA256(mac subkey, plaintext) truncated to 12 bytes, so the
 * same plaintext under the same key version always gives the same ciphertext — such columns can
 * be joined, grouped and used as merge keys, at the price of revealing which values are equal.
 * An IV only repeats when the plaintext repeats, so GCM's keystream is never reused for two
 * different plaintexts. The header (`sluice:v1d:<version>:`) is authenticated as additional data.
 *
 * Deterministic values compare equal only within one key version. So that a merge key still
 * matches after its key is rotated, the transform task encrypts a merge-key column with the
 * version the table's values of it already use (read from the table's column bounds), not the
 * active one.
 */
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type ColumnEncryptionMode = 'randomized' | 'deterministic';

interface Subkeys {
  enc: Buffer;
  mac: Buffer;
}

function derive(material: Buffer): Subkeys {
  return {
    enc: Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'sluice column encryption v1', 32)),
    mac: Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'sluice column siv v1', 32)),
  };
}

/**
 * The key version a deterministic value was encrypted with, read from its header; also from a
 * prefix of one (an Iceberg column bound keeps 16 characters). Undefined for anything else.
 */
export function deterministicKeyVersion(value: string): number | undefined {
  const m = /^sluice:v1d:(\d+):/.exec(value);
  return m ? Number(m[1]) : undefined;
}

/** Whether a column value, or a prefix of one (an Iceberg column bound), has the form of a value Sluice encrypted. */
export function isEncryptedValue(value: string): boolean {
  return /^sluice:v1d?:/.test(value);
}

/** Fresh key material for a new key version (32 random bytes). */
export function generateKeyMaterial(): Buffer {
  return randomBytes(32);
}

/** Encrypts and decrypts column values with every version of one named key. */
export class ColumnCipher {
  readonly #versions = new Map<number, Subkeys>();

  /** `versions` maps version numbers to key material; `activeVersion` encrypts. */
  constructor(readonly keyName: string, versions: ReadonlyMap<number, Buffer>, readonly activeVersion: number) {
    for (const [v, material] of versions) this.#versions.set(v, derive(material));
    if (!this.#versions.has(activeVersion)) throw new Error(`key ${keyName}: active version ${activeVersion} has no material`);
  }

  /**
   * Per version, the AES-256-GCM key that decrypts this key's column values (the HKDF subkey, not
   * the key material itself): what a reader of the tables needs, in any language (docs/encryption.md).
   */
  decryptionKeys(): { version: number; aes256GcmKey: string }[] {
    return [...this.#versions].sort(([a], [b]) => a - b).map(([version, keys]) => ({ version, aes256GcmKey: keys.enc.toString('base64') }));
  }

  /** Whether this cipher holds version `version` of its key. */
  hasVersion(version: number): boolean {
    return this.#versions.has(version);
  }

  /**
   * Encrypts with the active version, or with `version` when given: a deterministic column whose
   * table holds values of an older version keeps that version, so equal values still match.
   */
  encrypt(plaintext: string, mode: ColumnEncryptionMode = 'randomized', version: number = this.activeVersion): string {
    const keys = this.#versions.get(version);
    if (!keys) throw new Error(`key ${this.keyName} has no version ${version}`);
    const data = Buffer.from(plaintext, 'utf8');
    const header = `${mode === 'deterministic' ? 'sluice:v1d' : 'sluice:v1'}:${version}:`;
    const iv =
      mode === 'deterministic'
        ? createHmac('sha256', keys.mac).update(header).update(data).digest().subarray(0, IV_BYTES)
        : randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', keys.enc, iv);
    cipher.setAAD(Buffer.from(header, 'utf8'));
    const ct = Buffer.concat([cipher.update(data), cipher.final()]);
    return `${header}${Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64')}`;
  }

  /** Decrypts either form with the version it names; throws a ValidationError on a malformed or tampered value. */
  decrypt(value: string): string {
    const m = /^(sluice:v1d?):(\d+):([A-Za-z0-9+/=]*)$/.exec(value);
    if (!m) throw new ValidationError([{ path: 'value', message: 'not a Sluice-encrypted value (sluice:v1[d]:<version>:<base64>)' }]);
    const version = Number(m[2]);
    const keys = this.#versions.get(version);
    if (!keys) throw new ValidationError([{ path: 'value', message: `key ${this.keyName} has no version ${version}` }]);
    const body = Buffer.from(m[3] ?? '', 'base64');
    if (body.length < IV_BYTES + TAG_BYTES) throw new ValidationError([{ path: 'value', message: 'encrypted value is truncated' }]);
    const decipher = createDecipheriv('aes-256-gcm', keys.enc, body.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(`${m[1]}:${version}:`, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new ValidationError([{ path: 'value', message: `failed authentication under key ${this.keyName} version ${version}` }], { cause: err });
    }
  }
}
