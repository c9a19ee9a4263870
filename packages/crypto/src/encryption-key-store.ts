import { ConflictError, NotFoundError } from '@sluice/core';
import { isUniqueViolation, Prisma, type PrismaClient } from '@sluice/db';
import { ColumnCipher, generateKeyMaterial } from './column-cipher.ts';
import { refuseForeignSeal } from './master-key-check.ts';
import type { MasterKeyring } from './master-keyring.ts';

/** A named key as it may be shown: never its material. */
export interface EncryptionKeyInfo {
  name: string;
  ownerId: string | null;
  activeVersion: number;
  versions: { version: number; createdAt: Date }[];
  /** Each time its decryption keys were printed, newest first. */
  disclosures: { versions: number[]; disclosedBy: string; disclosedAt: Date }[];
  createdAt: Date;
  updatedAt: Date;
}

/** The additional data binding a wrapped key to its (name, version) row; reseal-at-rest.ts uses the same. */
function wrapContext(name: string, version: number): string {
  return `encryption_key_versions:${name}:${version}`;
}

type Db = PrismaClient | Prisma.TransactionClient;

/** What a key's info is read with. */
const KEY_INFO = {
  versions: { orderBy: { version: 'asc' } },
  disclosures: { orderBy: { disclosedAt: 'desc' }, select: { versions: true, disclosedBy: true, disclosedAt: true } },
} satisfies Prisma.EncryptionKeyInclude;

/**
 * Named column-encryption keys in `encryption_keys` / `encryption_key_versions`. Each version's
 * 32 bytes of material are stored sealed by the master key ({@link MasterKeyring}), bound to
 * (name, version); rotation adds a version and makes it active, older versions stay for decryption.
 */
export class EncryptionKeyStore {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly keyring: MasterKeyring,
  ) {}

  /** Creates key `name` at version 1; a ConflictError when the name is taken. */
  async create(name: string, ownerId: string | null): Promise<EncryptionKeyInfo> {
    await refuseForeignSeal(this.prisma, this.keyring);
    const wrapped = this.keyring.seal(generateKeyMaterial(), wrapContext(name, 1));
    try {
      await this.prisma.$transaction(async (tx) => {
        await tx.encryptionKey.create({ data: { name, ownerId, activeVersion: 1 } });
        await tx.encryptionKeyVersion.create({ data: { keyName: name, version: 1, wrappedKey: wrapped } });
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new ConflictError(`encryption key ${name} already exists`, { cause: err });
      }
      throw err;
    }
    return this.get(name);
  }

  async get(name: string, db: Db = this.prisma): Promise<EncryptionKeyInfo> {
    const key = await db.encryptionKey.findUnique({ where: { name }, include: KEY_INFO });
    if (!key) throw new NotFoundError('encryption key', name);
    return toInfo(key);
  }

  /** Keys, by name; `ownerIds` limits to keys of those owners (null = keys without an owner). */
  async list(filter: { ownerIds?: (string | null)[] } = {}): Promise<EncryptionKeyInfo[]> {
    const owners = filter.ownerIds;
    const where: Prisma.EncryptionKeyWhereInput | undefined = owners
      ? {
          OR: [
            ...(owners.some((o) => o !== null) ? [{ ownerId: { in: owners.filter((o): o is string => o !== null) } }] : []),
            ...(owners.includes(null) ? [{ ownerId: null }] : []),
          ],
        }
      : undefined;
    const keys = await this.prisma.encryptionKey.findMany({
      ...(where ? { where } : {}),
      include: KEY_INFO,
      orderBy: { name: 'asc' },
    });
    return keys.map(toInfo);
  }

  /** Which of `names` exist (for validating a job's column transformations). */
  async existing(names: readonly string[], db: Db = this.prisma): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const rows = await db.encryptionKey.findMany({ where: { name: { in: [...names] } }, select: { name: true } });
    return new Set(rows.map((r) => r.name));
  }

  /** Adds a new version with fresh material and makes it active; the row lock serialises rotations. */
  async rotate(name: string): Promise<EncryptionKeyInfo> {
    await refuseForeignSeal(this.prisma, this.keyring);
    await this.prisma.$transaction(async (tx) => {
      let version: number;
      try {
        ({ activeVersion: version } = await tx.encryptionKey.update({ where: { name }, data: { activeVersion: { increment: 1 } } }));
      } catch (err) {
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025') throw new NotFoundError('encryption key', name);
        throw err;
      }
      await tx.encryptionKeyVersion.create({
        data: { keyName: name, version, wrappedKey: this.keyring.seal(generateKeyMaterial(), wrapContext(name, version)) },
      });
    });
    return this.get(name);
  }

  /**
   * Records that the decryption keys of these versions of key `name` are about to be handed to
   * `disclosedBy` (`sluice decryption-keys` writes this before it prints them).
   */
  async recordDisclosure(name: string, versions: readonly number[], disclosedBy: string): Promise<void> {
    await this.prisma.encryptionKeyDisclosure.create({ data: { keyName: name, versions: [...versions], disclosedBy } });
  }

  /** A cipher holding every version of key `name` (the transform task encrypts with it). */
  async loadCipher(name: string, db: Db = this.prisma): Promise<ColumnCipher> {
    const key = await db.encryptionKey.findUnique({ where: { name }, include: { versions: true } });
    if (!key) throw new NotFoundError('encryption key', name);
    const versions = new Map<number, Buffer>();
    for (const v of key.versions) versions.set(v.version, this.keyring.open(v.wrappedKey, wrapContext(name, v.version)));
    return new ColumnCipher(name, versions, key.activeVersion);
  }
}

function toInfo(key: {
  name: string;
  ownerId: string | null;
  activeVersion: number;
  createdAt: Date;
  updatedAt: Date;
  versions: { version: number; createdAt: Date }[];
  disclosures: { versions: number[]; disclosedBy: string; disclosedAt: Date }[];
}): EncryptionKeyInfo {
  return {
    name: key.name,
    ownerId: key.ownerId,
    activeVersion: key.activeVersion,
    versions: key.versions.map((v) => ({ version: v.version, createdAt: v.createdAt })),
    disclosures: key.disclosures.map((d) => ({ versions: d.versions, disclosedBy: d.disclosedBy, disclosedAt: d.disclosedAt })),
    createdAt: key.createdAt,
    updatedAt: key.updatedAt,
  };
}
