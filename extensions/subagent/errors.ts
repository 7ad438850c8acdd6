/** Why subagent refused something: each names the limit or the worker, and says what to do. */

export class WorkerLimitError extends Error {
  readonly code = 'subagent_limit';
  constructor(
    readonly lead: string,
    readonly limit: number,
  ) {
    super(`this session already has ${limit} workers, the most allowed (subagent.max_workers); remove finished ones with subagent_cleanup first`);
    this.name = 'WorkerLimitError';
  }
}

export class NestingError extends Error {
  readonly code = 'subagent_nesting';
  constructor(readonly session: string) {
    super('a worker cannot start workers of its own (subagent.allow_nesting is off)');
    this.name = 'NestingError';
  }
}

export class BudgetError extends Error {
  readonly code = 'subagent_budget';
  constructor(
    readonly scope: 'lead' | 'worker',
    readonly budgetUsd: number,
    readonly spentUsd: number,
  ) {
    super(
      scope === 'lead'
        ? `the workers of this session have spent $${spentUsd.toFixed(4)} of their budget of $${budgetUsd} (subagent.lead_budget_usd): no new work is started`
        : `this worker has spent $${spentUsd.toFixed(4)} of its budget of $${budgetUsd} (budget_usd): it takes no more work`,
    );
    this.name = 'BudgetError';
  }
}

export class WorkerNotFoundError extends Error {
  readonly code = 'subagent_not_found';
  constructor(readonly ref: string) {
    super(`this session has no worker "${ref}" (see subagent_list)`);
    this.name = 'WorkerNotFoundError';
  }
}

export class WorkerStateError extends Error {
  readonly code = 'subagent_state';
  constructor(
    readonly worker: string,
    detail: string,
  ) {
    super(`worker ${worker}: ${detail}`);
    this.name = 'WorkerStateError';
  }
}

export class UnknownParadigmError extends Error {
  readonly code = 'subagent_paradigm';
  constructor(
    readonly paradigm: string,
    readonly known: readonly string[],
  ) {
    super(`there is no paradigm "${paradigm}"; there are: ${known.join(', ')} (more go in subagent.paradigms)`);
    this.name = 'UnknownParadigmError';
  }
}
