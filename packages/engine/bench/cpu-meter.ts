/**
 * CPU time spent by each process of the benchmark, so that a phase's cost per task (or per raw
 * job) can be read beside its rate: rates move with whatever else the shared machine does,
 * CPU time per unit of work much less. Linux only (/proc); the services must run on this
 * machine (they do when the benchmark starts them, and "on one machine" is the target's premise).
 *
 * - this process: `process.cpuUsage()`;
 * - runner processes (BENCH_RUNNER_PROCESSES): their /proc/<pid>/stat;
 * - PostgreSQL: the postmaster (its data directory's postmaster.pid), with its reaped children,
 *   plus every live child (backends, autovacuum, WAL writer…);
 * - Redis: `INFO cpu` (used_cpu_user + used_cpu_sys).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Sql } from '@sluice/db';

/** CPU milliseconds used so far by each part. */
export interface CpuSample {
  node: number;
  runners: number;
  postgres: number;
  redis: number;
}

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** utime, stime, cutime, cstime and ppid of a process, in clock ticks; null when it is gone. */
function procStat(pid: number): { own: number; reaped: number; ppid: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces: the fields after it start past its closing ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number): number => Number(f[i - 3]);
  return { own: n(14) + n(15), reaped: n(16) + n(17), ppid: n(4) };
}

function postgresTicks(postmaster: number): number {
  const root = procStat(postmaster);
  if (!root) throw new Error(`the PostgreSQL postmaster (pid ${postmaster}) is gone`);
  let ticks = root.own + root.reaped;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = procStat(Number(entry));
    if (child?.ppid === postmaster) ticks += child.own;
  }
  return ticks;
}

async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info);
    if (!m) throw new Error(`Redis INFO cpu has no ${name}`);
    return Number(m[1]);
  };
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

export interface CpuMeter {
  sample(): Promise<CpuSample>;
}

/**
 * Answers null when this machine cannot be read (not Linux, or PostgreSQL not local): the
 * benchmark then reports rates only.
 */
export async function createCpuMeter(sql: Sql, redis: Redis, runnerPids: () => readonly number[]): Promise<CpuMeter | null> {
  if (process.platform !== 'linux') return null;
  let postmaster: number;
  try {
    const [row] = await sql.query<{ setting: string }[]>`SELECT setting FROM pg_settings WHERE name = 'data_directory'`;
    if (!row) return null;
    postmaster = Number(readFileSync(path.join(row.setting, 'postmaster.pid'), 'utf8').split('\n')[0]);
    postgresTicks(postmaster);
    await redisCpuMs(redis);
  } catch {
    return null;
  }
  const ms = (ticks: number): number => (ticks * 1000) / ticksPerSecond;
  return {
    async sample() {
      const own = process.cpuUsage();
      return {
        node: (own.user + own.system) / 1000,
        runners: ms(runnerPids().reduce((sum, pid) => sum + (procStat(pid)?.own ?? 0), 0)),
        postgres: ms(postgresTicks(postmaster)),
        redis: await redisCpuMs(redis),
      };
    },
  };
}

/** CPU milliseconds per unit of work, by part and in total. */
export type CpuPerUnit = CpuSample & { total: number };

/** CPU milliseconds per unit of work between two samples. */
export function cpuPerUnit(before: CpuSample, after: CpuSample, units: number): CpuPerUnit {
  const per = (k: keyof CpuSample): number => Number(((after[k] - before[k]) / units).toFixed(4));
  const out = { node: per('node'), runners: per('runners'), postgres: per('postgres'), redis: per('redis') };
  return { ...out, total: Number((out.node + out.runners + out.postgres + out.redis).toFixed(4)) };
}
