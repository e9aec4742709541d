// What the playground page and its server say to each other: the workspace as one person sees it.
// Types only, so the browser script can import them without pulling in server code.

export interface TextObject {
  type: 'mrkdwn' | 'plain_text';
  text: string;
}

export interface OptionJson {
  text: TextObject;
  value: string;
}

/** The Block Kit elements Sesame sends: buttons, and the inputs of its modals. */
export interface ElementJson {
  type: string;
  action_id?: string;
  text?: TextObject;
  value?: string;
  style?: 'primary' | 'danger';
  options?: OptionJson[];
  placeholder?: TextObject;
  multiline?: boolean;
  initial_value?: string;
}

export interface BlockJson {
  type: string;
  block_id?: string;
  text?: TextObject;
  fields?: TextObject[];
  accessory?: ElementJson;
  /** Buttons in `actions`, texts in `context`. */
  elements?: (ElementJson | TextObject)[];
  label?: TextObject;
  hint?: TextObject;
  element?: ElementJson;
  optional?: boolean;
}

export interface ViewJson {
  type: string;
  title?: TextObject;
  submit?: TextObject;
  close?: TextObject;
  blocks?: BlockJson[];
}

export interface MessageJson {
  channel: string;
  ts: string;
  at: number;
  user: string;
  text: string;
  blocks: BlockJson[];
  threadTs?: string;
  /** Only the acting person sees it. */
  ephemeral: boolean;
  edited: boolean;
}

export interface AuditJson {
  id: number;
  at: string;
  actor: string;
  action: string;
  requestId: string | null;
  grantId: string | null;
}

export interface GrantJson {
  id: number;
  user: string;
  resource: string;
  role: string;
  state: string;
  breakglass: boolean;
  expiresAt: number | null;
}

export interface Snapshot {
  me: string;
  bot: string;
  people: { id: string; name: string; realName: string }[];
  channels: { id: string; name: string }[];
  usergroups: { id: string; handle: string }[];
  messages: MessageJson[];
  home: { id: string; view: ViewJson } | null;
  modal: { id: string; view: ViewJson } | null;
  audit: AuditJson[];
  grants: GrantJson[];
  /** The server's clock, so countdowns agree with Sesame's. */
  now: number;
}

/** A click as the page reports it: on a message (channel and ts) or in a view (its id). */
export interface ClickJson {
  user: string;
  channel?: string;
  ts?: string;
  viewId?: string;
  actionId: string;
  blockId: string;
  value: string;
  text: string;
}

/** The answer to a modal submission: field errors keep it open. */
export interface SubmitAnswer {
  errors: Record<string, string>;
}

/** The answer to anything the page sends: a sentence when Sesame or the stand-in refused. */
export interface Problem {
  problem: string;
}
