import { z } from 'zod';
import { text } from './text.ts';

/** Key names: lower-case letters, digits, `_`, `-`, `.`; 1–128 characters, starting with a letter or digit. */
export const encryptionKeyName = text.regex(/^[a-z0-9][a-z0-9_.-]{0,127}$/, 'must be 1–128 of a-z, 0-9, "_", "-", ".", starting with a letter or digit');

export const createEncryptionKeyRequest = z.strictObject({ name: encryptionKeyName }).meta({ id: 'CreateEncryptionKeyRequest' });

/** A named key as the API shows it: never the key material. */
export const encryptionKeyView = z
  .object({
    name: z.string(),
    owner_id: z.string().nullable(),
    active_version: z.number().int(),
    versions: z.array(z.object({ version: z.number().int(), created_at: z.string() })),
    /** Each time an operator printed its decryption keys (`sluice decryption-keys`), newest first. */
    disclosures: z.array(z.object({ versions: z.array(z.number().int()), disclosed_by: z.string(), disclosed_at: z.string() })),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'EncryptionKey' });
export type EncryptionKeyView = z.output<typeof encryptionKeyView>;

export const encryptionKeyListView = z.object({ keys: z.array(encryptionKeyView) }).meta({ id: 'EncryptionKeyList' });
