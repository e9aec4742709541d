// A success-or-failure value for expected outcomes, so the core throws only for bugs and broken infrastructure.
export type Result<T, E> = { ok: true; value: T; error?: never } | { ok: false; error: E; value?: never };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });
