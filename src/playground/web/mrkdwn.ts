// Slack's mrkdwn as DOM nodes (never innerHTML, so nothing a requester typed can become markup): bold, italic,
// strike, code, quotes, links, user/channel/group mentions and <!date^…> dates in the reader's time zone.

export interface Names {
  user(id: string): string;
  channel(id: string): string;
  usergroup(id: string): string;
}

const TOKEN = /```([\s\S]+?)```|`([^`\n]+)`|<([^<>\n]+)>|(?<![\w*])\*([^*\n]+)\*(?![\w*])|(?<![\w_])_([^_\n]+)_(?![\w_])|(?<![\w~])~([^~\n]+)~(?![\w~])/g;

/** Slack escapes only these three in text it sends. */
export const decodeEntities = (text: string): string => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

export function renderMrkdwn(text: string, names: Names): DocumentFragment {
  const out = document.createDocumentFragment();
  const lines = text.split('\n');
  let quote: HTMLQuoteElement | null = null;
  lines.forEach((line, i) => {
    const quoted = /^&gt;\s?/.exec(line);
    if (quoted) {
      quote ??= out.appendChild(document.createElement('blockquote'));
      if (quote.childNodes.length > 0) quote.append(document.createElement('br'));
      quote.append(inline(line.slice(quoted[0].length), names));
      return;
    }
    quote = null;
    if (i > 0 && !(lines[i - 1] ?? '').startsWith('&gt;')) out.append(document.createElement('br'));
    out.append(inline(line, names));
  });
  return out;
}

function inline(text: string, names: Names): DocumentFragment {
  const out = document.createDocumentFragment();
  let at = 0;
  for (const match of text.matchAll(TOKEN)) {
    const index = match.index ?? 0;
    if (index > at) out.append(decodeEntities(text.slice(at, index)));
    at = index + match[0].length;
    const [, pre, code, angle, bold, italic, strike] = match;
    if (pre !== undefined) out.append(element('pre', decodeEntities(pre)));
    else if (code !== undefined) out.append(element('code', decodeEntities(code)));
    else if (angle !== undefined) out.append(special(angle, names));
    else if (bold !== undefined) out.append(wrap('strong', inline(bold, names)));
    else if (italic !== undefined) out.append(wrap('em', inline(italic, names)));
    else if (strike !== undefined) out.append(wrap('s', inline(strike, names)));
  }
  if (at < text.length) out.append(decodeEntities(text.slice(at)));
  return out;
}

/** What Slack writes between < and >: mentions, dates, broadcasts and links. */
function special(body: string, names: Names): Node {
  const [target = '', label] = splitOnce(body, '|');
  if (target.startsWith('@')) return mention(`@${names.user(target.slice(1))}`);
  if (target.startsWith('#')) return mention(`#${label ?? names.channel(target.slice(1))}`);
  if (target.startsWith('!subteam^')) return mention(`@${label?.replace(/^@/, '') ?? names.usergroup(target.slice('!subteam^'.length))}`);
  if (target.startsWith('!date^')) return date(target, label);
  if (target.startsWith('!')) return mention(`@${target.slice(1)}`);
  const link = document.createElement('a');
  link.href = /^(https?|mailto):/i.test(target) ? target : '#';
  link.target = '_blank';
  link.rel = 'noreferrer';
  link.textContent = decodeEntities(label ?? target);
  return link;
}

/** `<!date^SECONDS^FORMAT|fallback>`, shown as Slack shows it: in the reader's own time zone. */
function date(target: string, fallback: string | undefined): Node {
  const [, seconds = '', format = '{date_short_pretty} {time}'] = target.split('^');
  const when = new Date(Number(seconds) * 1000);
  if (Number.isNaN(when.getTime())) return document.createTextNode(fallback ?? target);
  const today = new Date();
  const sameDay = (a: Date, b: Date) => a.toDateString() === b.toDateString();
  const pretty = sameDay(when, today) ? 'Today' : sameDay(when, new Date(today.getTime() - 86_400_000)) ? 'Yesterday' : sameDay(when, new Date(today.getTime() + 86_400_000)) ? 'Tomorrow' : when.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  const text = format
    .replace('{date_short_pretty}', pretty)
    .replace('{date_pretty}', pretty)
    .replace('{date_short}', when.toLocaleDateString(undefined, { month: 'short', day: 'numeric', year: 'numeric' }))
    .replace('{date_long}', when.toLocaleDateString(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' }))
    .replace('{date_num}', when.toISOString().slice(0, 10))
    .replace('{date}', when.toLocaleDateString(undefined, { month: 'long', day: 'numeric', year: 'numeric' }))
    .replace('{time_secs}', when.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit', second: '2-digit' }))
    .replace('{time}', when.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' }));
  const node = document.createElement('time');
  node.dateTime = when.toISOString();
  node.title = when.toString();
  node.textContent = text;
  return node;
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function mention(text: string): HTMLElement {
  const node = element('span', decodeEntities(text));
  node.className = 'mention';
  return node;
}

function element(tag: string, text: string): HTMLElement {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

function wrap(tag: string, content: Node): HTMLElement {
  const node = document.createElement(tag);
  node.append(content);
  return node;
}
