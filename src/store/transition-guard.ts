// What both stores' transactions share: the abort they throw and the check that a transition is one the state machine allows.

/** Thrown by `abort()`; the store rolls back and answers LOST_RACE. */
export class Abort extends Error {
  override readonly name = 'Abort';
}

/** A transition the state machine does not allow is a bug in the caller, not a lost race. Staying put is allowed. */
export function assertTransitions<S extends string>(kind: string, from: S[], to: S | undefined, allowed: (from: S, to: S) => boolean): undefined {
  const wrong = to === undefined ? undefined : from.find((f) => f !== to && !allowed(f, to));
  if (wrong !== undefined) throw new Error(`bug: a ${kind} cannot go from ${wrong} to ${to}`);
  return undefined;
}

/** One state or several, as a list. */
export const statesOf = <S extends string>(from: S | S[]): S[] => (Array.isArray(from) ? from : [from]);
