/**
 * A reader that closes the command's output early, as `fangkong codes | head -1` does,
 * makes the next write to that pipe fail with EPIPE. Node reports it as an 'error' event
 * on process.stdout (or stderr), and without a listener that event ends the process with
 * an "Unhandled 'error' event" stack trace.
 */

let installed = false;

/**
 * Ignore EPIPE on stdout and stderr, so a closed pipe ends the output quietly, the JSON
 * log lines that --verbose copies to stderr included. Each later write to that stream
 * fails the same way and is ignored too. The command still finishes its work and exits
 * with its own status, because `sync | head -1` must not stop a sync halfway. Any other
 * stream error is thrown as before.
 */
export function ignoreClosedOutput(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') return;
      throw error;
    });
  }
}
