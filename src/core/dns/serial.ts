/**
 * The next SOA serial: `YYYYMMDDnn` of today (UTC), or one more than the current serial when
 * that is already today's or later (more than 100 changes a day borrow from the next days), so
 * it never goes backwards and every change gets its own.
 */
export function nextSerial(current: number, now = new Date()): number {
  const today = Number(now.toISOString().slice(0, 10).replaceAll('-', '')) * 100;
  return Math.max(today, current + 1);
}
