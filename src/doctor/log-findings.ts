// `sesame start` runs the doctor's checks once it is up and logs each finding as a JSON line: passes at info, the rest at warn.
import type { Config } from '../config.ts';
import type { Logger } from '../core/ports.ts';
import { errorText } from './finding.ts';
import { runDoctor } from './run-doctor.ts';

export async function logFindings(config: Config, log: Logger): Promise<void> {
  try {
    for (const { status, what, fix } of await runDoctor(config)) {
      if (status === 'ok') log.info({ check: status }, what);
      else log.warn({ check: status, fix }, what);
    }
  } catch (error) {
    log.warn({ problem: errorText(error) }, 'the start-up checks (as in `sesame doctor`) could not run');
  }
}
