/** On SIGINT or SIGTERM: `close()`, then exit 0 (a failing close is an unhandled rejection: logged, exit 1). */
export function closeOnSignals(close: () => Promise<void>): void {
  const stop = async () => {
    await close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
