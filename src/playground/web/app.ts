// The playground page: a Slack-like workspace (channels, Sesame's DMs and App Home, modals) for whoever is
// picked in "Acting as", the audit log as it is written, and the grants with their countdowns.
import type { ClickJson, MessageJson, Problem, Snapshot, SubmitAnswer } from '../protocol.ts';
import { div, renderBlocks, type ButtonPress } from './blocks.ts';
import { renderMrkdwn, type Names } from './mrkdwn.ts';
import { renderModal, type RenderedModal, type Values } from './modal.ts';
import { emptyNote, renderAudit, renderGrants, tick } from './panel.ts';

type Place = { kind: 'channel'; id: string } | { kind: 'app'; tab: 'home' | 'messages' };

const $ = <T extends HTMLElement>(id: string): T => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
};

const actingAs = $<HTMLSelectElement>('acting-as');
const channelList = $<HTMLUListElement>('channels');
const title = $<HTMLHeadingElement>('place-title');
const tabs = $<HTMLDivElement>('app-tabs');
const conversation = $<HTMLDivElement>('conversation');
const composer = $<HTMLFormElement>('composer');
const input = $<HTMLTextAreaElement>('composer-input');
const grantList = $<HTMLUListElement>('grants');
const auditList = $<HTMLOListElement>('audit');
const modalRoot = $<HTMLDivElement>('modal-root');
const problemBox = $<HTMLDivElement>('problem');

let snapshot: Snapshot | null = null;
let me = localStorage.getItem('sesame-playground-user') ?? '';
let place: Place = { kind: 'channel', id: 'C0GENERAL' };
/** Server clock minus ours, so countdowns agree with Sesame's timers. */
let clockOffset = 0;
let shownModal: { key: string; rendered: RenderedModal } | null = null;
let seenAudit = 0;

const names: Names = {
  user: (id) => (id === snapshot?.bot ? 'Sesame' : (snapshot?.people.find((p) => p.id === id)?.name ?? id)),
  channel: (id) => snapshot?.channels.find((c) => c.id === id)?.name ?? id,
  usergroup: (id) => snapshot?.usergroups.find((g) => g.id === id)?.handle ?? id,
};

async function post<T>(path: string, body: unknown): Promise<T | null> {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await res.json()) as T | Problem;
  if (!res.ok) {
    showProblem((answer as Problem).problem ?? `The playground answered ${res.status}.`);
    return null;
  }
  showProblem('');
  return answer as T;
}

function showProblem(text: string): void {
  problemBox.textContent = text;
  problemBox.hidden = text === '';
}

let refreshing: Promise<void> | null = null;
let again = false;
/** One refresh at a time; changes during one cause exactly one more, so the page never shows stale state. */
function refresh(): Promise<void> {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      const asked = me;
      const res = await fetch(`/ui/state?user=${encodeURIComponent(asked)}`);
      if (!res.ok) return showProblem(((await res.json()) as Problem).problem);
      const answer = (await res.json()) as Snapshot;
      // Someone else was picked in "Acting as" while this was in flight: this view is theirs no longer.
      if (me !== asked) {
        again = true;
        continue;
      }
      snapshot = answer;
      me = snapshot.me;
      clockOffset = snapshot.now - Date.now();
      render(snapshot);
    } while (again);
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

function render(state: Snapshot): void {
  renderSwitcher(state);
  renderPlace(state);
  renderSidebar(state);
  renderGrants(grantList, state.grants, names, clockOffset);
  seenAudit = renderAudit(auditList, state, names, seenAudit);
  renderModalOf(state);
}

function renderSwitcher(state: Snapshot): void {
  const wanted = state.people.map((p) => `${p.id}:${p.realName}`).join('|');
  if (actingAs.dataset.people !== wanted) {
    actingAs.replaceChildren(...state.people.map((p) => new Option(p.realName, p.id)));
    actingAs.dataset.people = wanted;
  }
  actingAs.value = state.me;
}

/** The newest message ts each person has seen in each conversation, so the sidebar can show what is new. */
const readUpTo = new Map<string, string>();

function unread(state: Snapshot, conversationId: string): number {
  const read = readUpTo.get(`${state.me}:${conversationId}`) ?? '';
  return state.messages.filter((m) => m.channel === conversationId && m.user !== state.me && m.ts > read).length;
}

function renderSidebar(state: Snapshot): void {
  const entries = state.channels.map((c) => entry(`# ${c.name}`, place.kind === 'channel' && place.id === c.id, unread(state, c.id), () => go({ kind: 'channel', id: c.id })));
  channelList.replaceChildren(...entries);
  const app = $<HTMLButtonElement>('app-entry');
  app.setAttribute('aria-current', String(place.kind === 'app'));
  app.onclick = () => go({ kind: 'app', tab: 'messages' });
  showUnread(app, place.kind === 'app' ? 0 : unread(state, state.me));
}

function entry(text: string, current: boolean, count: number, open: () => void): HTMLLIElement {
  const li = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = text;
  button.setAttribute('aria-current', String(current));
  button.addEventListener('click', open);
  showUnread(button, current ? 0 : count);
  li.append(button);
  return li;
}

/** A count beside the name; hidden from the accessible name, which stays the channel's, and said as a description. */
function showUnread(button: HTMLButtonElement, count: number): void {
  button.querySelector('.unread')?.remove();
  button.classList.toggle('has-unread', count > 0);
  if (count === 0) return button.removeAttribute('aria-description');
  const badge = document.createElement('span');
  badge.className = 'unread';
  badge.setAttribute('aria-hidden', 'true');
  badge.textContent = String(count);
  button.append(badge);
  button.setAttribute('aria-description', `${count} new`);
}

function go(next: Place): void {
  place = next;
  if (next.kind === 'app' && next.tab === 'home') void post('/ui/home', { user: me });
  if (snapshot) render(snapshot);
  input.focus();
}

function renderPlace(state: Snapshot): void {
  tabs.hidden = place.kind !== 'app';
  for (const tab of tabs.querySelectorAll<HTMLButtonElement>('[role=tab]')) tab.setAttribute('aria-selected', String(place.kind === 'app' && tab.dataset.tab === place.tab));
  if (place.kind === 'app' && place.tab === 'home') {
    title.textContent = 'Sesame';
    composer.hidden = true;
    const home = state.home;
    conversation.replaceChildren(home ? renderBlocks(home.view.blocks ?? [], { names, onButton: (press) => click(press, { viewId: home.id }) }) : div('empty'));
    return;
  }
  composer.hidden = false;
  const channel = place.kind === 'channel' ? place.id : state.me;
  const name = place.kind === 'channel' ? `#${names.channel(channel)}` : 'Sesame';
  title.textContent = name;
  input.placeholder = `Message ${name} — try /access help`;
  conversation.setAttribute('aria-label', `Conversation in ${name}`);
  const messages = state.messages.filter((m) => m.channel === channel);
  const newest = messages.at(-1)?.ts;
  if (newest) readUpTo.set(`${state.me}:${channel}`, newest);
  const stick = conversation.scrollHeight - conversation.scrollTop - conversation.clientHeight < 40;
  conversation.replaceChildren(...(messages.length > 0 ? messages.map(renderMessage) : [emptyNote(place.kind === 'channel' ? 'No messages yet. Type /access help below.' : 'Sesame sends you direct messages here.')]));
  if (stick) conversation.scrollTop = conversation.scrollHeight;
}

function renderMessage(m: MessageJson): HTMLElement {
  const item = document.createElement('article');
  item.className = `message${m.ephemeral ? ' ephemeral' : ''}`;
  const who = names.user(m.user);
  const avatar = div(`avatar${m.user === snapshot?.bot ? ' bot' : ''}`);
  avatar.textContent = who.slice(0, 1).toUpperCase();
  avatar.setAttribute('aria-hidden', 'true');
  const body = div('message-body');
  const head = div('message-head');
  const author = document.createElement('strong');
  author.textContent = who;
  head.append(author);
  if (m.user === snapshot?.bot) head.append(badge('APP'));
  const time = document.createElement('time');
  time.dateTime = new Date(m.at).toISOString();
  time.textContent = new Date(m.at).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
  head.append(time);
  if (m.ephemeral) head.append(badge('Only visible to you'));
  if (m.threadTs) head.append(badge('in thread'));
  body.append(head);
  body.append(m.blocks.length > 0 ? renderBlocks(m.blocks, { names, onButton: (press) => click(press, { channel: m.channel, ts: m.ts }) }) : renderMrkdwn(m.text, names));
  if (m.edited) {
    const edited = document.createElement('span');
    edited.className = 'edited';
    edited.textContent = '(edited)';
    body.append(edited);
  }
  item.append(avatar, body);
  return item;
}

function badge(text: string): HTMLElement {
  const span = document.createElement('span');
  span.className = 'badge';
  span.textContent = text;
  return span;
}

function click(press: ButtonPress, where: Pick<ClickJson, 'channel' | 'ts' | 'viewId'>): void {
  void post('/ui/click', { user: me, ...where, ...press } satisfies ClickJson);
}

function renderModalOf(state: Snapshot): void {
  const modal = state.modal;
  const key = modal ? `${modal.id}:${JSON.stringify(modal.view)}` : '';
  if (shownModal?.key === key) return;
  modalRoot.replaceChildren();
  shownModal = null;
  if (!modal) return;
  const rendered = renderModal(modal.id, modal.view, {
    names,
    onButton: (press) => click(press, { viewId: modal.id }),
    onClose: () => void post('/ui/close', { user: me, viewId: modal.id }),
    onSubmit: (values: Values) =>
      void post<SubmitAnswer>('/ui/submit', { user: me, viewId: modal.id, values }).then((answer) => {
        if (answer) rendered.showErrors(answer.errors);
      }),
  });
  shownModal = { key, rendered };
  modalRoot.append(rendered.root);
  rendered.root.querySelector<HTMLElement>('input, select, textarea')?.focus();
}

actingAs.addEventListener('change', () => {
  me = actingAs.value;
  localStorage.setItem('sesame-playground-user', me);
  shownModal = null;
  if (place.kind === 'app' && place.tab === 'home') void post('/ui/home', { user: me });
  void refresh();
});

for (const tab of tabs.querySelectorAll<HTMLButtonElement>('[role=tab]')) {
  tab.addEventListener('click', () => go({ kind: 'app', tab: tab.dataset.tab === 'home' ? 'home' : 'messages' }));
}

composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  const channel = place.kind === 'channel' ? place.id : me;
  input.value = '';
  void post('/ui/command', { user: me, channel, text });
});

input.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    composer.requestSubmit();
  }
});

setInterval(() => tick(grantList, clockOffset), 1_000);
new EventSource('/ui/events').addEventListener('change', () => void refresh());
void refresh();
