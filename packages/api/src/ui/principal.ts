/** Who is looking at the UI, as the API's authentication decided. */
export interface UiPrincipal {
  /** The token's subject (an owner id); jobs with this `owner_id` are the viewer's own. */
  subject: string;
  /** Admins see every owner's jobs. */
  admin: boolean;
  /** When the credentials stop being accepted (ms since the epoch); absent: never. A live stream ends then. */
  expiresAt?: number;
}

/** Whether `principal` may see a job owned by `ownerId`. A job without owner is admin-only. */
export function canSee(principal: UiPrincipal, ownerId: string | null): boolean {
  return principal.admin || (ownerId !== null && ownerId === principal.subject);
}
