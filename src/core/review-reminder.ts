// When reviewers are reminded of reviews still waiting: shared by break-glass and post-access review.

/** Unreviewed grants are brought up again this often (and first this long after the oldest one). */
export const REVIEW_REMINDER_MS = 24 * 3_600_000;

/** Whether the reminder is due: something has waited a day, and the last reminder is a day old. */
export function reviewReminderDue(oldest: number | null, lastReminder: Date | null, now: Date): boolean {
  if (oldest === null || now.getTime() - oldest < REVIEW_REMINDER_MS) return false;
  return lastReminder === null || now.getTime() - lastReminder.getTime() >= REVIEW_REMINDER_MS;
}
