// What the stand-in's workspace holds: messages (posted, updated in place, deleted, ephemeral), App Home tabs,
// open modals, and which person each trigger id and response_url belongs to.
import { randomUUID } from 'node:crypto';

/** A message as the workspace shows it; DMs from Sesame live in the conversation named by the person's user id. */
export interface StoredMessage {
  channel: string;
  ts: string;
  /** When it was posted (ms); `ts` is the stand-in's counter, not a time. */
  at: number;
  /** Who posted it: the bot for everything Sesame sends. */
  user: string;
  text: string;
  blocks: unknown[];
  threadTs?: string;
  /** Set for ephemeral messages: only this person sees them. */
  visibleTo?: string;
  edited?: boolean;
}

/** A modal or App Home view as Sesame last sent it. */
export interface StoredView {
  id: string;
  user: string;
  view: Record<string, unknown>;
}

/** What a click or command happened on, so that posts to its response_url land in the right place. */
export interface ResponseContext {
  user: string;
  channel: string;
  messageTs?: string;
}

export const BOT_USER = 'UBOT';

const keyOf = (channel: string, ts: string) => `${channel} ${ts}`;

export class WorkspaceState {
  /** Every message posted and still there, in posting order. */
  readonly messages: StoredMessage[] = [];
  /** The same messages by channel and ts, so that a look-up stays cheap in a long run (the benchmark posts thousands). */
  private readonly byKey = new Map<string, StoredMessage>();
  /** The App Home tab of each person, as last published. */
  readonly homes = new Map<string, StoredView>();
  /** Open modals, newest last. */
  readonly modals: StoredView[] = [];
  private readonly triggers = new Map<string, string>();
  private readonly responseContexts = new Map<string, ResponseContext>();
  private seq = 0;

  constructor(private readonly changed: () => void) {}

  nextTs(): string {
    return `1700000000.${String(++this.seq).padStart(6, '0')}`;
  }

  nextViewId(): string {
    return `V${++this.seq}`;
  }

  post(message: Omit<StoredMessage, 'ts' | 'at'>): StoredMessage {
    const stored = { ...message, ts: this.nextTs(), at: Date.now() };
    this.messages.push(stored);
    this.byKey.set(keyOf(stored.channel, stored.ts), stored);
    this.changed();
    return stored;
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    return this.byKey.get(keyOf(channel, ts));
  }

  update(channel: string, ts: string, text: string | undefined, blocks: unknown[] | undefined): void {
    const message = this.message(channel, ts);
    if (!message) return;
    Object.assign(message, { text: text ?? message.text, blocks: blocks ?? message.blocks, edited: true });
    this.changed();
  }

  remove(channel: string, ts: string): void {
    const message = this.message(channel, ts);
    if (message) {
      this.messages.splice(this.messages.indexOf(message), 1);
      this.byKey.delete(keyOf(channel, ts));
    }
    this.changed();
  }

  /** A trigger id for an interaction by `user`, so a views.open with it opens a modal for that person. */
  triggerFor(user: string): string {
    const trigger = `trigger-${randomUUID()}`;
    this.triggers.set(trigger, user);
    return trigger;
  }

  /** Opens a modal for whoever the trigger belongs to; a trigger the stand-in never issued opens nothing. */
  openModal(trigger: string, view: Record<string, unknown>): string {
    const id = this.nextViewId();
    const user = this.triggers.get(trigger);
    if (user) this.modals.push({ id, user, view });
    this.changed();
    return id;
  }

  /** Replaces a modal's view, as `response_action: update` or views.update do. */
  replaceModal(viewId: string, view: Record<string, unknown>): void {
    const modal = this.modals.find((m) => m.id === viewId);
    if (modal) modal.view = view;
    this.changed();
  }

  /** Removes a modal, as Slack does when it is submitted without errors or closed. */
  closeModal(viewId: string): void {
    const at = this.modals.findIndex((m) => m.id === viewId);
    if (at >= 0) this.modals.splice(at, 1);
    this.changed();
  }

  publishHome(user: string, view: Record<string, unknown>): string {
    const id = this.homes.get(user)?.id ?? this.nextViewId();
    this.homes.set(user, { id, user, view });
    this.changed();
    return id;
  }

  bindResponse(id: string, context: ResponseContext): void {
    this.responseContexts.set(id, context);
  }

  /** A response_url post shows where the interaction happened: ephemerally, in the channel, or in place of the message. */
  showResponse(id: string, body: Record<string, unknown>): void {
    const context = this.responseContexts.get(id);
    if (!context) return;
    const text = typeof body.text === 'string' ? body.text : '';
    const blocks = Array.isArray(body.blocks) ? body.blocks : [];
    const original = context.messageTs ? this.message(context.channel, context.messageTs) : undefined;
    if (body.delete_original === true && original) return this.remove(original.channel, original.ts);
    if (body.replace_original === true && original) return this.update(original.channel, original.ts, text, blocks);
    this.post({ channel: context.channel, user: BOT_USER, text, blocks, ...(body.response_type === 'in_channel' ? {} : { visibleTo: context.user }) });
  }
}
