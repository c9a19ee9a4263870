export { runningLocalPostgresUrl, startPostgres, LocalServiceError } from './postgres.ts';
export type { LocalService, ServiceSettings } from './postgres.ts';
export { startRedis } from './redis.ts';
export { startS3 } from './s3.ts';
export { freePort, isListening, waitForPort } from './free-port.ts';
export { which, postgresBinDir } from './find-program.ts';
