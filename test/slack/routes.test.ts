// The interaction router: one Bolt listener for block actions and one for modal submissions, routed by id and element type.
import type { App } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { routeInteractions, type ActionArgs, type ViewArgs } from '../../src/slack/routes.ts';

type Listener = (args: unknown) => Promise<void>;

/** Records what the router registers with Bolt, so a test can play Bolt's part and call the listeners. */
function recordingApp() {
  const registered: { kind: 'action' | 'view'; constraints: unknown; listener: Listener }[] = [];
  const app = {
    action: (constraints: unknown, listener: Listener) => void registered.push({ kind: 'action', constraints, listener }),
    view: (constraints: unknown, listener: Listener) => void registered.push({ kind: 'view', constraints, listener }),
  } as unknown as Pick<App, 'action' | 'view'>;
  const listenerOf = (kind: 'action' | 'view') => registered.find((r) => r.kind === kind)?.listener as Listener;
  return { app, registered, listenerOf };
}

const actionArgs = (type: string, actionId: string) => ({ action: { type, action_id: actionId }, body: {} });
const viewArgs = (callbackId: string) => ({ view: { callback_id: callbackId }, body: {} });

describe('interaction routes', () => {
  it('registers one listener for every block action and one for every modal submission, however many handlers there are', () => {
    const { app, registered } = recordingApp();
    const routes = routeInteractions(app, async () => undefined);
    for (const id of ['a', 'b', 'c']) routes.button(id, async () => undefined);
    routes.select('s', async () => undefined);
    routes.view('v1', async () => undefined);
    routes.view('v2', async () => undefined);
    expect(registered.map((r) => [r.kind, r.constraints])).toEqual([
      ['action', { type: 'block_actions' }],
      ['view', { type: 'view_submission' }],
    ]);
  });

  it("hands a click to its button's handler, a choice to its select's, and anything else to the unknown-action handler", async () => {
    const { app, listenerOf } = recordingApp();
    const seen: string[] = [];
    const routes = routeInteractions(app, async (args: ActionArgs) => void seen.push(`unknown ${args.action.type} ${args.action.action_id}`));
    routes.button('approve_request', async (args) => void seen.push(`button ${args.action.action_id}`));
    routes.select('resource_value', async (args) => void seen.push(`select ${args.action.action_id}`));
    const act = listenerOf('action');

    await act(actionArgs('button', 'approve_request'));
    await act(actionArgs('static_select', 'resource_value'));
    await act(actionArgs('button', 'self_destruct'));
    // An element of another type under a known id is not the handler's to read.
    await act(actionArgs('static_select', 'approve_request'));
    await act(actionArgs('button', 'resource_value'));
    expect(seen).toEqual(['button approve_request', 'select resource_value', 'unknown button self_destruct', 'unknown static_select approve_request', 'unknown button resource_value']);
  });

  it('hands a submission to the handler of its callback id, and leaves one it does not know unanswered', async () => {
    const { app, listenerOf } = recordingApp();
    const seen: string[] = [];
    const routes = routeInteractions(app, async () => undefined);
    routes.view('deny_reason', async (args: ViewArgs) => void seen.push(args.view.callback_id));
    await listenerOf('view')(viewArgs('deny_reason'));
    await listenerOf('view')(viewArgs('no_such_form'));
    expect(seen).toEqual(['deny_reason']);
  });

  it('refuses a second handler for one id, so two features cannot silently shadow each other', () => {
    const routes = routeInteractions(recordingApp().app, async () => undefined);
    routes.button('approve_request', async () => undefined);
    expect(() => routes.button('approve_request', async () => undefined)).toThrow('two Slack handlers for approve_request');
    routes.view('deny_reason', async () => undefined);
    expect(() => routes.view('deny_reason', async () => undefined)).toThrow('two Slack handlers for deny_reason');
  });
});
