/**
 * Which unattended features could use up a subscription's limits without a valve: the heartbeat with
 * `max_utilization` switched off, cron jobs without `skip_above_utilization` (their own or cron's
 * default). Read from the raw `extensions.<name>` sections: core does not load extensions to check them,
 * so jobs from the terminal or sessions (whose own threshold is in cron's database) count as unguarded
 * whenever cron has no default.
 */
export function unguardedUnattended(config: { readonly enabled: readonly string[]; readonly extensions: Readonly<Record<string, unknown>> }): string[] {
  const problems: string[] = [];
  const section = (name: string): Record<string, unknown> => {
    const value = config.extensions[name];
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  };
  if (config.enabled.includes('heartbeat')) {
    const heartbeat = section('heartbeat');
    // Unset means the default, 80%.
    if ('max_utilization' in heartbeat && typeof heartbeat.max_utilization !== 'number') problems.push('heartbeat runs with max_utilization off');
  }
  if (config.enabled.includes('cron')) {
    const cron = section('cron');
    if (typeof cron.skip_above_utilization !== 'number') {
      const jobs = Array.isArray(cron.jobs) ? (cron.jobs as unknown[]) : [];
      const unguarded = jobs
        .filter((job): job is Record<string, unknown> => job !== null && typeof job === 'object')
        .filter((job) => typeof job.skip_above_utilization !== 'number')
        .map((job) => String(job.name ?? '?'));
      if (unguarded.length > 0) problems.push(`cron jobs without skip_above_utilization: ${unguarded.join(', ')}`);
      else problems.push('cron has no default skip_above_utilization (jobs added from the terminal or by sessions without their own have none)');
    }
  }
  return problems;
}
