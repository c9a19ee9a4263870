import { NotFoundError } from '@sluice/core';
import type { EncryptionKeyView } from '@sluice/core/contract';
import type { EncryptionKeyInfo, EncryptionKeyStore } from '@sluice/crypto';
import type { Logger } from '@sluice/logging';
import { owns, requireScope, type Principal } from '../auth/principal.ts';

function view(k: EncryptionKeyInfo): EncryptionKeyView {
  return {
    name: k.name,
    owner_id: k.ownerId,
    active_version: k.activeVersion,
    versions: k.versions.map((v) => ({ version: v.version, created_at: v.createdAt.toISOString() })),
    disclosures: k.disclosures.map((d) => ({ versions: d.versions, disclosed_by: d.disclosedBy, disclosed_at: d.disclosedAt.toISOString() })),
    created_at: k.createdAt.toISOString(),
    updated_at: k.updatedAt.toISOString(),
  };
}

/**
 * Named encryption keys for the API. A key belongs to its creator; callers see their own keys and
 * ownerless ones, admins all. Key names are global. Key material never leaves @sluice/crypto.
 */
export class EncryptionKeyService {
  constructor(
    private readonly store: EncryptionKeyStore,
    private readonly logger: Logger,
  ) {}

  async create(p: Principal, name: string): Promise<EncryptionKeyView> {
    requireScope(p, 'sluice:write');
    const key = await this.store.create(name, p.subject);
    this.logger.info('encryption key created', { component: 'api.keys', key: name, owner: p.subject });
    return view(key);
  }

  async list(p: Principal): Promise<EncryptionKeyView[]> {
    requireScope(p, 'sluice:read');
    const keys = await this.store.list(p.admin ? {} : { ownerIds: [p.subject, null] });
    return keys.map(view);
  }

  async rotate(p: Principal, name: string): Promise<EncryptionKeyView> {
    requireScope(p, 'sluice:write');
    const key = await this.store.get(name).catch((err: unknown) => {
      throw err instanceof NotFoundError ? new NotFoundError('encryption key', name) : err;
    });
    // Ownerless keys may be used by everyone but rotated only by admins.
    if (!owns(p, key.ownerId)) throw new NotFoundError('encryption key', name);
    const rotated = await this.store.rotate(name);
    this.logger.info('encryption key rotated', { component: 'api.keys', key: name, version: rotated.activeVersion });
    return view(rotated);
  }
}
