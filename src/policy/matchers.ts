// Small text matchers the policy needs: ticket references in a reason, channel-name globs.
const ticketRegexps = new Map<string, RegExp>();

/** Distinct ticket references in the order they appear. */
export function extractTickets(pattern: string | undefined, reason: string): string[] {
  if (pattern === undefined) return [];
  let re = ticketRegexps.get(pattern);
  if (!re) {
    re = new RegExp(pattern, 'g');
    ticketRegexps.set(pattern, re);
  }
  return [...new Set(Array.from(reason.matchAll(re), (m) => m[0]))];
}

/** `inc-*` matches `inc-42`; `*` is any run of characters, `?` one character; case-insensitive like Slack names. */
export function matchesGlob(glob: string, name: string): boolean {
  const source = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(name);
}
