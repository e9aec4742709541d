// Every channel a policy names, with where it names it; `sesame doctor` (and start-up) checks each in Slack.
import type { Policy } from '../policy/schema.ts';

export function policyChannels(policy: Policy): { path: string; id: string }[] {
  const found = [{ path: 'settings.approvals_channel', id: policy.settings.approvals_channel }];
  if (policy.settings.audit_channel) found.push({ path: 'settings.audit_channel', id: policy.settings.audit_channel });
  policy.breakglass?.notify.forEach((id, i) => found.push({ path: `breakglass.notify[${i}]`, id }));
  for (const [name, resource] of Object.entries(policy.resources)) {
    if (resource.approvals_channel) found.push({ path: `resources.${name}.approvals_channel`, id: resource.approvals_channel });
  }
  return found;
}
