// What Slack listeners may use: the core's use cases, the policy in force, a logger. Nothing else.
import type { AccessService } from '../core/access-service.ts';
import type { Logger } from '../core/ports.ts';
import type { LoadedPolicy } from '../policy/load.ts';

export interface ListenerDeps {
  access: AccessService;
  policy: () => LoadedPolicy;
  log: Logger;
}
