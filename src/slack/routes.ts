// One Bolt listener per kind of interaction (block actions, modal submissions), each picking its handler by id here.
// Bolt runs every request through every listener's middleware chain, copying the request's arguments at each step, so
// with a listener per button, select and form (fourteen), every slash command also went through fourteen chains that could never match it.
import type { AllMiddlewareArgs, App, BlockAction, BlockElementAction, ButtonAction, SlackActionMiddlewareArgs, SlackViewMiddlewareArgs, StaticSelectAction, ViewSubmitAction } from '@slack/bolt';

export type ActionArgs<Element extends BlockElementAction = BlockElementAction> = SlackActionMiddlewareArgs<BlockAction<Element>> & AllMiddlewareArgs;
export type ButtonArgs = ActionArgs<ButtonAction>;
export type ViewArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

type Handler<Args> = (args: Args) => Promise<void>;

export interface InteractionRoutes {
  /** Clicks on buttons with this `action_id`. */
  button(actionId: string, handler: Handler<ButtonArgs>): void;
  /** Choices in static selects with this `action_id`. */
  select(actionId: string, handler: Handler<ActionArgs<StaticSelectAction>>): void;
  /** Submissions of modals with this `callback_id`. */
  view(callbackId: string, handler: Handler<ViewArgs>): void;
}

const isButton = (args: ActionArgs): args is ButtonArgs => args.action.type === 'button';
const isStaticSelect = (args: ActionArgs): args is ActionArgs<StaticSelectAction> => args.action.type === 'static_select';

/**
 * Registers the two listeners and returns where handlers are added. An action with no handler (a button from an older
 * version, say) goes to `unknownAction`; a submission of a modal Sesame does not know is left unanswered, as Bolt
 * leaves a request no listener matches.
 */
export function routeInteractions(app: Pick<App, 'action' | 'view'>, unknownAction: Handler<ActionArgs>): InteractionRoutes {
  const buttons = new Map<string, Handler<ButtonArgs>>();
  const selects = new Map<string, Handler<ActionArgs<StaticSelectAction>>>();
  const views = new Map<string, Handler<ViewArgs>>();

  app.action<BlockAction>({ type: 'block_actions' }, async (args) => {
    const id = args.action.action_id;
    if (isButton(args)) {
      const handler = buttons.get(id);
      if (handler) return handler(args);
    } else if (isStaticSelect(args)) {
      const handler = selects.get(id);
      if (handler) return handler(args);
    }
    return unknownAction(args);
  });
  app.view<ViewSubmitAction>({ type: 'view_submission' }, async (args) => {
    await views.get(args.view.callback_id)?.(args);
  });

  const add = <H>(routes: Map<string, H>, id: string, handler: H) => {
    if (routes.has(id)) throw new Error(`two Slack handlers for ${id}`);
    routes.set(id, handler);
  };
  return {
    button: (id, handler) => add(buttons, id, handler),
    select: (id, handler) => add(selects, id, handler),
    view: (id, handler) => add(views, id, handler),
  };
}
