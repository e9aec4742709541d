// The one error a provider throws on purpose: it says whether trying again can help.
export class ProviderError extends Error {
  override readonly name = 'ProviderError';

  constructor(
    message: string,
    /** False for failures a retry cannot fix (a role that does not exist, a 4xx answer). */
    readonly retryable: boolean,
    options?: { cause?: unknown; nothingGranted?: boolean },
  ) {
    super(message, options);
    this.nothingGranted = options?.nothingGranted ?? false;
  }

  /**
   * The provider refused before changing anything, because what it would make is already there and not this grant's
   * (another Sesame's login or binding, say): undoing the failed grant would destroy someone else's access.
   */
  readonly nothingGranted: boolean;
}

/** Whether a failed grant may have changed something at the provider, so that it must be undone there. */
export const mayHaveGranted = (error: unknown): boolean => !(error instanceof ProviderError && error.nothingGranted);

export function isRetryable(error: unknown): boolean {
  return !(error instanceof ProviderError) || error.retryable;
}
