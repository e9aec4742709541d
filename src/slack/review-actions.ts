// Looks right and Flag on a post-access review card (or in App Home / `/access pending`), and the Flag form.
import { grantRef, parseRef } from '../core/ids.ts';
import { ACTION } from './blocks.ts';
import type { ListenerDeps } from './listener-deps.ts';
import { explain } from './messages.ts';
import { FLAG_VIEW, flagModal } from './review-blocks.ts';
import { FIELD } from './views.ts';
import { fromHome, publishHome, tell } from './actions.ts';
import type { InteractionRoutes } from './routes.ts';

export function registerReviewActions(routes: InteractionRoutes, deps: ListenerDeps): void {
  const reviews = () => deps.access.reviews.post;

  routes.button(ACTION.reviewOk, async (args) => {
    await args.ack();
    const id = parseRef('G', args.action.value ?? '');
    if (id === null) return tell(args, 'That button does not name a grant; use `/access pending` instead.');
    const out = await reviews().give(id, args.body.user.id, 'looks_right', null);
    if (!out.ok) await tell(args, explain(out.error));
    else if (!fromHome(args)) await tell(args, `✅ Thanks: you reviewed ${grantRef(id)} as looking right.`);
    if (fromHome(args)) await publishHome(args.client, args.body.user.id, deps);
  });

  routes.button(ACTION.reviewFlag, async (args) => {
    await args.ack();
    const id = parseRef('G', args.action.value ?? '');
    if (id === null) return tell(args, 'That button does not name a grant; use `/access pending` instead.');
    // Checked before the form opens, so a non-reviewer is told (and audited) at the click, not after typing a reason.
    const ready = await reviews().screen(id, args.body.user.id);
    if (!ready.ok) return tell(args, explain(ready.error));
    await args.client.views.open({ trigger_id: args.body.trigger_id, view: flagModal(grantRef(id)) });
  });

  routes.view(FLAG_VIEW, async ({ ack, body, view, client }) => {
    const id = parseRef('G', view.private_metadata);
    const note = view.state.values[FIELD.note.block]?.[FIELD.note.action]?.value ?? '';
    const out = id === null ? null : await reviews().give(id, body.user.id, 'flagged', note);
    if (out === null || !out.ok) {
      await ack({ response_action: 'errors', errors: { [FIELD.note.block]: out === null ? 'This form lost track of its grant; close it and click Flag again.' : explain(out.error) } });
      return;
    }
    await ack();
    await client.chat.postMessage({ channel: body.user.id, text: `🚩 You flagged ${grantRef(out.value.id)}; the admins have been alerted.` });
  });
}
