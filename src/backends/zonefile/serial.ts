/** SOA serials are 32-bit sequence numbers compared with RFC 1982 arithmetic. */
const SERIAL_MODULUS = 2 ** 32;
const SERIAL_HALF = 2 ** 31;

/** True when `a` is greater than `b` in RFC 1982 serial number arithmetic (SERIAL_BITS = 32). */
export function serialGreater(a: number, b: number): boolean {
  const distance = (((a - b) % SERIAL_MODULUS) + SERIAL_MODULUS) % SERIAL_MODULUS;
  return distance !== 0 && distance < SERIAL_HALF;
}

/** `YYYYMMDD00` for the UTC day of `now`. */
export function dateSerial(now: Date): number {
  return (now.getUTCFullYear() * 10000 + (now.getUTCMonth() + 1) * 100 + now.getUTCDate()) * 100;
}

/**
 * The next SOA serial after `current`: today's `YYYYMMDD00` when that is greater in RFC 1982
 * terms (the usual date convention, so operators can read when the zone last changed),
 * otherwise `current + 1` modulo 2^32, which is always greater.
 */
export function nextSerial(current: number, now: Date): number {
  const today = dateSerial(now);
  if (serialGreater(today, current)) return today;
  return (current + 1) % SERIAL_MODULUS;
}
