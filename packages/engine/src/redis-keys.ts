/**
 * Redis keys and channels Sluice uses beside BullMQ's own, all under the queue prefix.
 */
export function sentinelKey(queuePrefix: string): string {
  return `${queuePrefix}:sluice:sentinel`;
}

/** Pub/sub channel on which a run's cancellation is announced (message: the run id). */
export function cancelChannel(queuePrefix: string): string {
  return `${queuePrefix}:sluice:cancel`;
}
