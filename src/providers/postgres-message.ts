// The message a postgres grant DMs: how to connect with the new login, until when.

/** The DM that tells the requester how to connect; it carries the password, so it goes to them alone. */
export function connectionMessage(connectionString: string, login: string, password: string, expiresAt: Date): string {
  const target = new URL(connectionString);
  target.username = login;
  target.password = password;
  // Sesame's own options are not the requester's business, but a TLS requirement must reach their psql too.
  const sslmode = target.searchParams.get('sslmode');
  target.search = sslmode === null ? '' : new URLSearchParams({ sslmode }).toString();
  return [
    `Your PostgreSQL login \`${login}\` works until ${expiresAt.toISOString()} (the database refuses it after that):`,
    '```',
    `psql "${target.toString()}"`,
    '```',
  ].join('\n');
}
