// What Slack listeners may use: the core's use cases, the policy in force, a logger. Nothing else.
import type { AccessService } from '../core/access-service.ts';
import type { Logger } from '../core/ports.ts';
import type { ReasonEnds } from '../core/reason-ended.ts';
import type { UserBlocks } from '../core/user-blocks.ts';
import type { LoadedPolicy } from '../policy/load.ts';

export interface ListenerDeps {
  access: AccessService;
  /** `/access revoke-all` and `/access unblock`. */
  blocks: UserBlocks;
  /** Ends grants whose reason ended (the `channel_archive` event). */
  reasons: ReasonEnds;
  policy: () => LoadedPolicy;
  log: Logger;
}
