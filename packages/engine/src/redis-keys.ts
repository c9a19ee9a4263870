/**
 * Redis keys and channels Sluice uses beside BullMQ's own, all under the queue prefix.
 */
export function sentinelKey(queuePrefix: string): string {
  return `${queuePrefix}:sluice:sentinel`;
}

/**
 * Marks one scheduler's rebuild of an emptied Redis while it runs: the sentinel is set at its end
 * only if the marker is still there (a Redis emptied again meanwhile lost part of the rebuild).
 */
export function rebuildMarkerKey(queuePrefix: string, token: string): string {
  return `${queuePrefix}:sluice:rebuilding:${token}`;
}

/** Pub/sub channel on which a run's cancellation is announced (message: the run id). */
export function cancelChannel(queuePrefix: string): string {
  return `${queuePrefix}:sluice:cancel`;
}
