import { spawn } from 'node:child_process';
import { which } from './find-program.ts';
import { waitForPort } from './free-port.ts';
import { LocalServiceError, type LocalService } from './postgres.ts';

/**
 * Runs moto's S3-compatible server (`pip install "moto[server]"`) on 127.0.0.1:`port`.
 * Returns undefined when moto is not installed.
 */
export async function startS3(port: number): Promise<LocalService | undefined> {
  const bin = which('moto_server');
  if (!bin) return undefined;
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore', detached: false });
  if (!(await waitForPort('127.0.0.1', port, 20_000))) {
    child.kill('SIGKILL');
    throw new LocalServiceError(`moto_server did not start on port ${port}`);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    adopted: false,
    async stop() {
      child.kill('SIGTERM');
    },
  };
}
