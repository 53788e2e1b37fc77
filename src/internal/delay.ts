/**
 * The longest delay Node's timers honour: 2^31 - 1 ms, about 24.8 days. A longer one, and
 * `Infinity`, fire after 1 ms instead (with a TimeoutOverflowWarning), so every option that ends
 * up in a timer is checked against it.
 */
export const MAX_DELAY_MS = 2_147_483_647;

/** `value` is an integer number of ms from `min` to {@link MAX_DELAY_MS}. */
export function isDelay(value: unknown, min: number): value is number {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= MAX_DELAY_MS;
}
