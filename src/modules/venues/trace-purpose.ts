// The web console imports this file into its bundle, so it imports nothing.

/** Characters a trace purpose needs at least, after trimming, so the audit log says why a query was made. */
export const MIN_TRACE_PURPOSE_CHARACTERS = 4;

/** Count a trace purpose's characters (code points, not UTF-16 units) after trimming. */
export function tracePurposeLength(purpose: string): number {
  return [...purpose.trim()].length;
}
