/** How the error of a try declared lost ends: its runner stopped heart-beating, so it was not the task's doing. */
const PRESUMED_LOST = 'the try is presumed lost';

/** The error of a running try whose runner stopped heart-beating (the state store's, when recovery declares it lost). */
export function lostTryError(runnerId: string, lastBeat: Date | null): string {
  return `runner ${runnerId} stopped heart-beating (last beat ${lastBeat?.toISOString() ?? 'never'}); ${PRESUMED_LOST}`;
}

/** Whether a try's error is that of a try declared lost ({@link lostTryError}): nothing the task met made it fail. */
export function isLostTryError(error: string | null): boolean {
  return error !== null && error.endsWith(PRESUMED_LOST);
}
