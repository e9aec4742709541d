// Safe Slack text: user input escaped so it can never ping anyone, and trimmed to Slack's limits.
/** Slack's limit for a section's text; fields allow 2,000. */
export const SECTION_LIMIT = 3_000;
export const FIELD_LIMIT = 2_000;
export const MAX_BLOCKS = 50;

/** Escapes the three characters Slack gives meaning to, so `<!channel>` and `<@U1>` show as text. */
export const escapeMrkdwn = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Keeps text under `limit` characters, marking the cut. */
export const truncate = (text: string, limit: number): string => (text.length <= limit ? text : `${text.slice(0, limit - 1)}…`);

/** A name or command in code style; backticks inside are replaced so the span cannot be broken out of. */
export const code = (text: string): string => `\`${escapeMrkdwn(text).replace(/`/g, "'")}\``;

export const mention = (userId: string): string => (/^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId));

/** A time Slack shows in each reader's own time zone, with UTC as the fallback text. */
export const slackTime = (ms: number): string => `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${new Date(ms).toISOString()}>`;

/** `prod-db` `write`, or `incident-responder` (bundle: `prod-db` `read`, …): what a request or grant is for. */
export const resourceRole = (r: { resource: string; role: string; bundleMembers?: readonly { resource: string; role: string }[] | null }): string =>
  r.bundleMembers ? `${code(r.resource)} (bundle: ${r.bundleMembers.map((m) => `${code(m.resource)} ${code(m.role)}`).join(', ')})` : `${code(r.resource)} ${code(r.role)}`;

export const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
