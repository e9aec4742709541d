// Short, typeable ids: requests are R42, grants G17; the number is the SQLite row id.
export const requestRef = (id: number): string => `R${id}`;
export const grantRef = (id: number): string => `G${id}`;

/** Accepts `R42`, `r42` or `42` for a request (prefix `R`); null when the text is no such id. */
export function parseRef(prefix: 'R' | 'G', text: string): number | null {
  const match = new RegExp(`^${prefix}?(\\d{1,12})$`, 'i').exec(text.trim());
  if (!match?.[1]) return null;
  const id = Number(match[1]);
  return id > 0 ? id : null;
}
