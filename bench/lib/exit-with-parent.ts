/**
 * Preloaded into every process the bench starts (`--import`): stdin is a pipe from the bench, and
 * its end means the bench is gone (even killed with SIGKILL), so nothing outlives a run.
 */
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
