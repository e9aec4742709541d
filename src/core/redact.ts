// The one place credentials inside URLs are removed before a URL or a message is shown (readyz, logs, audit, Slack).

/** Query parameters that carry secrets in connection strings (libpq's `password`, `sslpassword`, tokens). */
const SECRET_PARAM = /^(password|passwd|pass|pwd|sslpassword|secret|token|access_token|api_key|apikey|key)$/i;

// scheme://user:password@ — greedy up to the last "@" of the authority, since an unencoded "@" in a password is common.
// Neither pattern crosses a quote or a backslash, so a scrubbed JSON log line stays valid JSON.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'`<>\\]*@/gi;
// A whole value that is a URL: its authority may hold any character but whitespace before the last "@".
const LEADING_USERINFO = /^(\s*[a-z][a-z0-9+.-]*:\/\/)\S*@/i;
// ?password=… or &password=… anywhere in a text (a connection string inside an error message).
const QUERY_SECRET = /([?&])(password|passwd|pass|pwd|sslpassword|secret|token|access_token|api_key|apikey|key)=[^&\s"'`<>#\\]*/gi;

/**
 * A URL as it may be shown: `redis://user:pw@127.0.0.1:6379/0` → `redis://127.0.0.1:6379/0`, secret query
 * parameters replaced by `***`. Text that does not parse as a URL is scrubbed as free text.
 */
export function redactUrl(url: string): string {
  // Everything up to the last "@" first: a password with an unencoded "/", "#" or "?" makes the URL unparsable, or
  // parse with the password in its port and path, and the free-text scrub stops at those characters. An "@" in a
  // path or query is then lost from what is shown, which is the safe side.
  const shown = url.replace(LEADING_USERINFO, '$1');
  let parsed: URL;
  try {
    parsed = new URL(shown);
  } catch {
    return redactCredentials(shown);
  }
  parsed.username = '';
  parsed.password = '';
  for (const name of [...parsed.searchParams.keys()]) if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, '***');
  // Schemes without a host part (e.g. "postgres:" parsed oddly) fall back to the text scrub as well.
  return redactCredentials(parsed.toString());
}

/** Removes every `user:password@` of a URL and every secret query parameter found anywhere in free text. */
export function redactCredentials(text: string): string {
  return text.replace(USERINFO, '$1').replace(QUERY_SECRET, '$1$2=***');
}
