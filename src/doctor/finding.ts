// One line of `sesame doctor`: what was checked, whether it passed, and what to do when it did not.
import { redactCredentials } from '../core/redact.ts';

export type FindingStatus = 'ok' | 'failed' | 'unknown';

export interface Finding {
  status: FindingStatus;
  /** What was found, as a sentence fragment that reads on its own ("Redis at … answers"). */
  what: string;
  /** What to do about it; only for `failed` and `unknown`. */
  fix?: string;
}

export const passed = (what: string): Finding => ({ status: 'ok', what });
export const failed = (what: string, fix?: string): Finding => ({ status: 'failed', what, ...(fix ? { fix } : {}) });
/** The check could not be made (e.g. Redis refuses CONFIG): not a failure, but worth a look. */
export const cannotTell = (what: string, fix: string): Finding => ({ status: 'unknown', what, fix });

const MARKS: Record<FindingStatus, string> = { ok: '✓', failed: '✗', unknown: '?' };

export const renderFinding = (f: Finding): string => `${MARKS[f.status]} ${f.what}${f.fix ? ` — ${f.fix}` : ''}`;

/** An error as text, with any credentials a connection string put in it removed. */
export const errorText = (error: unknown): string => redactCredentials(error instanceof Error ? error.message : String(error));
