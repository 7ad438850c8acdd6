/**
 * What the engine knows about the running turn beyond what `state.json` records (`SessionState.current`).
 * It lives in memory only and is begun afresh for each turn.
 */
export class Turn {
  /**
   * The CLI reported `init` for this turn: the prompt reached the model, so it is not run again when the
   * process dies. Unknown for a turn found after a restart, and then taken as seen.
   */
  sawInit: boolean;
  /** The CLI answered this turn's interrupt request, so no answer is left to wait for once the turn ends. */
  interruptAnswered = false;
  /** Input tokens of the turn's latest top-level model call. */
  contextTokens: number | undefined;

  constructor(options: { readonly sawInit: boolean }) {
    this.sawInit = options.sawInit;
  }
}
