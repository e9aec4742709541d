// At start, says which channels the policy names that Slack does not know (a typo, or Sesame not invited).
import type { Directory, Logger } from '../core/ports.ts';
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

export async function warnAboutUnknownChannels(policy: Policy, directory: Directory, log: Logger): Promise<string[]> {
  const unknown: string[] = [];
  const seen = new Set<string>();
  for (const { path, id } of policyChannels(policy)) {
    if (seen.has(id)) continue;
    seen.add(id);
    const name = await directory.channelName(id).catch(() => undefined);
    if (name === null) {
      unknown.push(id);
      log.warn({ path, channel: id }, `${path}: Slack does not know channel ${id}; fix the ID, or invite Sesame to it (private channels must invite it)`);
    }
  }
  return unknown;
}
