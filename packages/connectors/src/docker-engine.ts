import { runCommand, tailLines } from './run-command.ts';

export type DockerProbe = { available: true; serverVersion: string } | { available: false; reason: string };

/** Asks the Docker CLI whether an engine answers (`docker info`); never throws. */
export async function probeDockerEngine(command = 'docker', timeoutMs = 10_000): Promise<DockerProbe> {
  const r = await runCommand(command, ['info', '--format', '{{.ServerVersion}}'], { timeoutMs });
  const version = r.stdout.trim();
  if (r.code === 0 && version !== '') return { available: true, serverVersion: version };
  if (r.timedOut) return { available: false, reason: `\`${command} info\` did not answer within ${timeoutMs / 1000} s` };
  if (r.code === null) return { available: false, reason: `no \`${command}\` command (${tailLines(r.stderr, 1)})` };
  return { available: false, reason: `no Docker engine answered (${tailLines(r.stderr || r.stdout, 1) || `\`${command} info\` exited ${String(r.code)}`})` };
}
