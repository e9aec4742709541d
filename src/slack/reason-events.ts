// Slack events that end a grant's reason: an archived incident channel ends the break-glass grants made in it.
import type { App } from '@slack/bolt';
import type { ListenerDeps } from './listener-deps.ts';

export function registerReasonEvents(app: App, deps: ListenerDeps): void {
  // Needs the `channel_archive` (and, for private incident channels, `group_archive`) bot event in the app's manifest.
  // One listener for both: Bolt runs every request through every listener (see routes.ts).
  app.event(/^(channel|group)_archive$/, async ({ event }) => {
    if (event.type !== 'channel_archive' && event.type !== 'group_archive') return; // only narrows the event's type: the pattern matched
    const ended = await deps.reasons.channelArchived(event.channel);
    if (ended > 0) deps.log.info({ channel: event.channel, ended }, 'incident channel archived; its break-glass grants ended');
  });
}
