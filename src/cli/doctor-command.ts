// `sesame doctor`: one line per check, ✓ or ✗ with the fix; exit 1 when any check failed.
import { renderFinding } from '../doctor/finding.ts';
import { runDoctor } from '../doctor/run-doctor.ts';
import { UsageError, type CommandContext } from './command.ts';
import { EXIT, line } from './io.ts';

export async function doctor(args: string[], { io, config }: CommandContext): Promise<number> {
  if (args.length > 0) throw new UsageError(`sesame doctor takes no arguments (it checks the configuration in the environment), not "${args.join(' ')}".`);
  const findings = await runDoctor(config);
  for (const finding of findings) line(io.stdout, renderFinding(finding));
  const failures = findings.filter((f) => f.status === 'failed').length;
  const unknown = findings.filter((f) => f.status === 'unknown').length;
  const couldNotTell = unknown > 0 ? `, ${unknown} could not be made` : '';
  line(io.stdout, failures === 0 && unknown === 0 ? `all ${findings.length} checks passed` : `${failures} of ${findings.length} checks failed${couldNotTell}`);
  return failures === 0 ? EXIT.ok : EXIT.failed;
}
