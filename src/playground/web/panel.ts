// The side panel: grants with a countdown to their end, and the audit log as Sesame writes it.
import type { GrantJson, Snapshot } from '../protocol.ts';
import { div } from './blocks.ts';
import type { Names } from './mrkdwn.ts';

export function emptyNote(text: string): HTMLElement {
  const note = div('empty');
  note.textContent = text;
  return note;
}

export function renderGrants(grantList: HTMLElement, grants: readonly GrantJson[], names: Names, clockOffset: number): void {
  grantList.replaceChildren(
    ...(grants.length === 0
      ? [emptyNote('No grants yet.')]
      : grants.map((g) => {
          const li = document.createElement('li');
          li.className = `grant state-${g.state}`;
          li.dataset.expiresAt = String(g.expiresAt ?? '');
          const what = document.createElement('strong');
          what.textContent = `G${g.id} ${g.resource} ${g.role}${g.breakglass ? ' 🚨' : ''}`;
          const who = document.createElement('span');
          who.textContent = ` for @${names.user(g.user)} — `;
          const state = document.createElement('span');
          state.className = 'grant-state';
          state.textContent = g.state.replace('_', ' ');
          const left = document.createElement('span');
          left.className = 'countdown';
          li.append(what, who, state, left);
          return li;
        })),
  );
  tick(grantList, clockOffset);
}

/** Counts each active grant down to its end, every second, from the server's clock. */
export function tick(grantList: HTMLElement, clockOffset: number): void {
  const now = Date.now() + clockOffset;
  for (const li of grantList.querySelectorAll<HTMLLIElement>('li.state-active')) {
    const left = Math.max(0, Math.round((Number(li.dataset.expiresAt) - now) / 1000));
    const countdown = li.querySelector('.countdown');
    if (countdown) countdown.textContent = ` · ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left`;
  }
}

/** Renders the newest audit rows, marking those newer than `seenAudit`; returns the newest id. */
export function renderAudit(auditList: HTMLElement, state: Snapshot, names: Names, seenAudit: number): number {
  const newest = state.audit[0]?.id ?? 0;
  auditList.replaceChildren(
    ...state.audit.map((a) => {
      const li = document.createElement('li');
      if (seenAudit > 0 && a.id > seenAudit) li.className = 'new';
      const time = document.createElement('time');
      time.dateTime = a.at;
      time.textContent = new Date(a.at).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
      const action = document.createElement('code');
      action.textContent = a.action;
      const rest = document.createElement('span');
      rest.textContent = ` by ${a.actor.startsWith('U') ? `@${names.user(a.actor)}` : a.actor}${a.requestId ? ` ${a.requestId}` : ''}${a.grantId ? ` ${a.grantId}` : ''}`;
      li.append(time, ' ', action, rest);
      return li;
    }),
  );
  return newest;
}
