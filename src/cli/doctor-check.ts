/** One line of `tabcrew doctor`: what was checked, how it went, and what to do about it. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skipped' | 'n/a';

export interface Check {
  check: string;
  status: CheckStatus;
  detail: string;
  /** What to do about it; set whenever status is fail or warn. */
  fix?: string;
}
