/**
 * How long until a deadline (a certificate's expiry), for people. Rounded to the nearest
 * hour or minute rather than cut down to whole days: a certificate that expires in 9 days
 * and 20 hours must not read "8 d" or "9 d", nor one issued for 12 days "11 d" a second later.
 */
const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;

/** "12 d", "9 d 5 h", "30 h", "5 h 20 min", "40 min". */
export function timeLeft(seconds: number): string {
  if (seconds >= 2 * DAY - HOUR / 2) {
    const hours = Math.round(seconds / HOUR);
    const days = Math.floor(hours / 24);
    const rest = hours % 24;
    return rest ? `${days} d ${rest} h` : `${days} d`;
  }
  if (seconds >= 2 * HOUR - MINUTE / 2) {
    const minutes = Math.round(seconds / MINUTE);
    const rest = minutes % 60;
    return rest ? `${Math.floor(minutes / 60)} h ${rest} min` : `${minutes / 60} h`;
  }
  return `${Math.max(0, Math.round(seconds / MINUTE))} min`;
}
