// Every error a Slack user can meet, as one sentence that says what to type instead.
import { describeError } from '../core/describe-error.ts';
import type { DomainError } from '../core/errors.ts';
import type { CommandError } from './command-parser.ts';
import { START_FORMS } from './start-time.ts';
import { code } from './text.ts';

export function explain(e: DomainError | CommandError): string {
  switch (e.code) {
    case 'unknown_subcommand':
      return `${code(`/access ${e.input}`)} is not something I know. Type ${code('/access help')} to see what you can do.`;
    case 'missing_argument':
      return `That needs more: ${code(e.usage)}.`;
    case 'bad_id':
      return `${code(e.input)} is not a ${e.prefix === 'R' ? 'request id (like `R42`)' : 'grant id (like `G17`)'}; ${code('/access list')} shows yours.`;
    case 'bad_user':
      return `${code(e.input)} does not name a person; mention them (${code('@name')}) or give their member ID (like ${code('U012AB3CD')}).`;
    case 'reason_too_long':
      return `Your reason is ${e.length.toLocaleString('en-US')} characters; keep it under ${e.max.toLocaleString('en-US')} and link a ticket for the details.`;
    case 'start_malformed':
      return `${code(e.input)} is not a start time I can read; write it like ${START_FORMS}.`;
    default:
      return describeError(e, code);
  }
}

export const SOMETHING_WENT_WRONG = (ref: string): string => `Something went wrong on our side (ref ${code(ref)}). Try again; if it keeps happening, give your Sesame admins that ref.`;

/** A command acknowledged just before a restart whose turn came after it began: not started, so never half done. */
export const RESTARTING_NOTHING_DONE = 'Sesame was restarting before it got to this command, so nothing was done. Send it again.';
export const SLACK_UNAVAILABLE = 'Slack did not answer when Sesame looked up your groups or this channel, so nothing was changed. Try again in a minute.';
