// Regenerates docs/playground.png: a playground with a few requests made, photographed in Debian's Chromium.
import { launchChromium, openPlayground } from '../test/playground/browser-harness.ts';

const browser = await launchChromium();
const p = await openPlayground(browser);
try {
  await p.actAs('Carol Chen (on call)');
  await p.openChannel('inc-42-db-down');
  await p.type('/access breakglass prod-db write 5m primary is down, failing over');
  await p.see(p.conversation().getByText('broke glass'));
  await p.actAs('Alice Adams');
  await p.openChannel('general');
  await p.type('/access request sandbox admin 10m trying the playground');
  await p.type('/access request prod-db write 10m hotfix for OPS-7');
  await p.see(p.conversation().getByText('is waiting for'));
  await p.actAs('Frank Fischer (security)');
  await p.openChannel('access-approvals');
  await p.conversation().getByRole('button', { name: 'Approve' }).first().click();
  await p.see(p.conversation().getByText('Waiting for step 2 of 2'));
  await p.actAs('Dan Diaz (SRE lead)');
  await p.page.waitForTimeout(1_500);
  await p.page.screenshot({ path: 'docs/playground.png' });
} finally {
  await p.close();
  await browser.close();
}
