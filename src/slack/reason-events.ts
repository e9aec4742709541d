// Slack events that end a grant's reason: an archived incident channel ends the break-glass grants made in it.
import type { App } from '@slack/bolt';
import type { ListenerDeps } from './listener-deps.ts';

export function registerReasonEvents(app: App, deps: ListenerDeps): void {
  // Needs the `channel_archive` (and, for private incident channels, `group_archive`) bot event in the app's manifest.
  app.event('channel_archive', async ({ event }) => {
    const ended = await deps.reasons.channelArchived(event.channel);
    if (ended > 0) deps.log.info({ channel: event.channel, ended }, 'incident channel archived; its break-glass grants ended');
  });
  app.event('group_archive', async ({ event }) => {
    await deps.reasons.channelArchived(event.channel);
  });
}
