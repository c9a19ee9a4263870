import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { which } from './find-program.ts';
import { isListening, waitForPort } from './free-port.ts';
import { LocalServiceError, portTaken, type LocalService, type ServiceSettings } from './postgres.ts';

/** Runs redis-server on 127.0.0.1:`port` with no persistence (Redis holds nothing that cannot be rebuilt). */
export async function startRedis(dir: string, port: number, settings?: ServiceSettings): Promise<LocalService> {
  const url = `redis://127.0.0.1:${port}`;
  const bin = which('redis-server');
  if (!bin) {
    throw new LocalServiceError(
      'Redis is not installed and REDIS_URL is not set: install it (apt-get install -y redis-server) or set REDIS_URL=redis://host:6379',
    );
  }
  const pidfile = path.join(dir, 'redis.pid');
  let adopted = false;
  if (await isListening('127.0.0.1', port)) {
    // A redis-server of this directory on this port was left by an earlier start: take it over.
    adopted = redisOfPidfile(pidfile, port);
    if (!adopted) throw await portTaken('Redis', port, dir, settings);
  } else {
    mkdirSync(dir, { recursive: true });
    execFileSync(bin, [
      '--daemonize', 'yes', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--pidfile', pidfile, '--logfile', path.join(dir, 'redis.log'),
    ]);
    if (!(await waitForPort('127.0.0.1', port, 10_000))) throw new LocalServiceError(`redis-server did not start on port ${port}; see ${dir}/redis.log`);
  }
  return {
    url,
    adopted,
    async stop() {
      try {
        process.kill(Number(readFileSync(pidfile, 'utf8').trim()), 'SIGTERM');
      } catch {
        return; // already gone
      }
      // SIGTERM returns at once; the server is stopped when its port is closed.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await isListening('127.0.0.1', port))) await new Promise((r) => setTimeout(r, 50));
    },
  };
}

/** Whether `pidfile` names a live redis-server serving `port` (its command line says so). */
function redisOfPidfile(pidfile: string, port: number): boolean {
  try {
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    return /redis-server/.test(cmdline) && cmdline.includes(`:${port}`);
  } catch {
    return false;
  }
}
