import type { TtlBounds } from './types.ts';

/** The no-write band around the current TTL (behaviour rule 4): ±20%. */
export const TTL_BAND = 0.2;

/**
 * The TTL to publish for an RRset whose chain had `chainTtl` as its lowest TTL (behaviour rule 3).
 *
 * The result is never longer than `max`. Without an explicit `min` it is never longer than the
 * chain either, so clients do not cache our copy past the target's own expiry; with an explicit
 * `min` the user has asked for exactly that, and `min` wins, even over `max` (the schema should
 * refuse `min > max`; a planner that still sees it keeps the user's floor). Never below 1.
 */
export function publishedTtl(chainTtl: number, bounds: TtlBounds): number {
  const chain = Number.isFinite(chainTtl) ? Math.floor(chainTtl) : bounds.max;
  let ttl = Math.min(chain, Math.floor(bounds.max));
  if (bounds.min !== undefined) ttl = Math.max(ttl, Math.floor(bounds.min));
  return Math.max(1, ttl);
}

/**
 * True when `desired` lies within `±fraction` of `current`, edges included, so that rewriting
 * would only churn the zone and its secondaries (300 → 240 stays, 300 → 237 is written).
 */
export function withinBand(current: number, desired: number, fraction: number = TTL_BAND): boolean {
  // The tolerance absorbs binary rounding of fraction * current (0.2 is not exact in binary).
  return Math.abs(desired - current) <= fraction * current + 1e-9 * Math.max(1, current);
}

/** True when `ttl` lies inside the policy's bounds; a missing `min` means 1. */
export function withinBounds(ttl: number, bounds: TtlBounds): boolean {
  return ttl >= Math.max(1, bounds.min ?? 1) && ttl <= Math.max(bounds.max, bounds.min ?? 1);
}
