import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { ConfigError, ValidationError } from '@sluice/core';

/**
 * Envelope format of every secret Sluice keeps at rest (source_config, wrapped column keys):
 *
 *   `sluice-sealed:v1:<key id>:<base64 of iv(12) | ciphertext | tag(16)>`
 *
 * AES-256-GCM under the master key. `key id` is the first 16 hex digits of SHA-256 of the
 * master key, so a value says which master key sealed it and the key can rotate: a keyring
 * holds the active key (used to seal) and any previous keys (used only to open). The header
 * and a caller-given context (e.g. `ingestion_jobs.source_config:<job id>`) are authenticated
 * as additional data, so a sealed value cannot be moved to another row or field unnoticed.
 */
export const SEALED_PREFIX = 'sluice-sealed:v1:';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The key id of a master key: first 16 hex digits of its SHA-256. */
export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Decodes a base64 master key (`SLUICE_MASTER_KEY`); it must be exactly 32 bytes. */
export function decodeMasterKey(base64: string, setting = 'SLUICE_MASTER_KEY'): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new ConfigError(setting, 'must be base64 of exactly 32 bytes', '$(openssl rand -base64 32)');
  return key;
}

/**
 * A sealed value whose master key this process does not hold: another process may (a runner set up
 * with another key than the installation's, QA round 34a F1), so a task that meets it is retried
 * rather than failed for good.
 */
export class UnheldMasterKeyError extends ValidationError {
  constructor(
    readonly keyId: string,
    held: readonly string[],
  ) {
    super([
      {
        path: '',
        message: `sealed with master key ${keyId}, which this process does not hold (it holds ${held.join(', ')}): give every Sluice process the installation's master key, and its previous one in SLUICE_MASTER_KEY_PREVIOUS during a master key rotation`,
      },
    ]);
  }
}

/** Master keys: one active (seals), previous ones (open only), found by key id. */
export class MasterKeyring {
  readonly activeKeyId: string;
  readonly #active: Buffer;
  readonly #byId = new Map<string, Buffer>();

  constructor(active: Buffer, previous: readonly Buffer[] = []) {
    for (const k of [active, ...previous]) {
      if (k.length !== 32) throw new ConfigError('SLUICE_MASTER_KEY', 'must be base64 of exactly 32 bytes', '$(openssl rand -base64 32)');
      this.#byId.set(masterKeyId(k), k);
    }
    this.#active = active;
    this.activeKeyId = masterKeyId(active);
  }

  /** The ids of the keys held, the active one first. */
  get keyIds(): string[] {
    return [...this.#byId.keys()];
  }

  /** Whether a key of this id is held (active or previous). */
  holds(keyId: string): boolean {
    return this.#byId.has(keyId);
  }

  /** A keyring from base64 keys: the active one and any previous ones. */
  static fromBase64(active: string, previous: readonly string[] = []): MasterKeyring {
    return new MasterKeyring(decodeMasterKey(active), previous.map((p) => decodeMasterKey(p, 'SLUICE_MASTER_KEY_PREVIOUS')));
  }

  /** Seals `plaintext` under the active master key, bound to `context`. */
  seal(plaintext: string | Buffer, context: string): string {
    const header = `${SEALED_PREFIX}${this.activeKeyId}:`;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#active, iv);
    cipher.setAAD(Buffer.from(`${header}${context}`, 'utf8'));
    const ct = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]);
    return `${header}${Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64')}`;
  }

  /** Opens a sealed value; throws a ValidationError when it is malformed, sealed by an unknown key, or tampered with. */
  open(sealed: string, context: string): Buffer {
    const { keyId, body } = parseSealed(sealed);
    const key = this.#byId.get(keyId);
    if (!key) throw new UnheldMasterKeyError(keyId, this.keyIds);
    if (body.length < IV_BYTES + TAG_BYTES) throw new ValidationError([{ path: '', message: 'sealed value is truncated' }]);
    const iv = body.subarray(0, IV_BYTES);
    const tag = body.subarray(body.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(`${SEALED_PREFIX}${keyId}:${context}`, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(body.subarray(IV_BYTES, body.length - TAG_BYTES)), decipher.final()]);
    } catch (err) {
      throw new ValidationError([{ path: '', message: 'sealed value failed authentication (wrong context or tampered)' }], { cause: err });
    }
  }

  openString(sealed: string, context: string): string {
    return this.open(sealed, context).toString('utf8');
  }

  /** The id of the master key that sealed a value, as its header names it (undefined for a malformed one). */
  sealedWith(sealed: string): string | undefined {
    try {
      return parseSealed(sealed).keyId;
    } catch {
      return undefined;
    }
  }

  /** Whether a sealed value names a key this keyring holds (false for a malformed one). */
  canOpen(sealed: string): boolean {
    try {
      return this.#byId.has(parseSealed(sealed).keyId);
    } catch {
      return false;
    }
  }

  /** Whether a sealed value was sealed by an older key (re-seal it with {@link MasterKeyring.reseal}). */
  needsReseal(sealed: string): boolean {
    return parseSealed(sealed).keyId !== this.activeKeyId;
  }

  /** Opens with whichever key sealed it and seals again with the active key. */
  reseal(sealed: string, context: string): string {
    return this.seal(this.open(sealed, context), context);
  }
}

function parseSealed(sealed: string): { keyId: string; body: Buffer } {
  if (!sealed.startsWith(SEALED_PREFIX)) throw new ValidationError([{ path: '', message: `not a sealed value (expected prefix ${SEALED_PREFIX})` }]);
  const rest = sealed.slice(SEALED_PREFIX.length);
  const colon = rest.indexOf(':');
  if (colon <= 0) throw new ValidationError([{ path: '', message: 'sealed value has no key id' }]);
  return { keyId: rest.slice(0, colon), body: Buffer.from(rest.slice(colon + 1), 'base64') };
}
