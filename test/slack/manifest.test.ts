// manifest.yaml: the command, interactivity, App Home and events Sesame handles, and exactly the scopes it calls for.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const manifest = parse(readFileSync(new URL('../../manifest.yaml', import.meta.url), 'utf8')) as {
  features: { app_home: { home_tab_enabled: boolean }; slash_commands: { command: string; url: string }[] };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { bot_events: string[]; request_url: string }; interactivity: { is_enabled: boolean; request_url: string } };
};

describe('manifest.yaml', () => {
  it('declares /access, interactivity and App Home, all at /slack/events', () => {
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(['/access']);
    expect(manifest.features.app_home.home_tab_enabled).toBe(true);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_home_opened', 'channel_archive', 'group_archive']);
    for (const url of [manifest.features.slash_commands[0]?.url, manifest.settings.interactivity.request_url, manifest.settings.event_subscriptions.request_url]) expect(url).toMatch(/\/slack\/events$/);
  });

  it('asks for exactly the bot scopes of the Web API methods Sesame calls', () => {
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(['channels:read', 'chat:write', 'commands', 'groups:read', 'usergroups:read', 'usergroups:write', 'users:read', 'users:read.email']);
  });
});
