// How lugh writes times for people: plain text, used by the chat and by services' reasons.

/** `42 s`, `1 min 20 s`, `25 min`, `2 h 5 min`, `3 d 4 h`: a span of time as a person reads it. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 600)
    return seconds % 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds / 60} min`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** `5 min ago`. */
export function formatAgo(then: Date, now: Date = new Date()): string {
  return `${formatDuration(now.getTime() - then.getTime())} ago`;
}

/** `2026-11-23 14:05 UTC`. */
export function formatUtc(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
