import type { Socket as ClientSocket } from "socket.io-client";

/** Resolves with the arguments of the next `event` on `emitter`; rejects after `timeoutMs`. */
export function once<T extends unknown[] = unknown[]>(
  emitter: { once(event: string, listener: (...args: never[]) => void): unknown },
  event: string,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for '${event}'`)), timeoutMs);
    emitter.once(event, ((...args: T) => {
      clearTimeout(timer);
      resolve(args);
    }) as unknown as (...args: never[]) => void);
  });
}

export async function connected(socket: ClientSocket): Promise<ClientSocket> {
  if (socket.connected) return socket;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("client did not connect")), 10_000);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return socket;
}

/** Collects `count` events named `event`, in arrival order. */
export function collect<T = unknown>(
  socket: ClientSocket,
  event: string,
  count: number,
  timeoutMs = 15_000,
): Promise<T[]> {
  return new Promise<T[]>((resolve, reject) => {
    const items: T[] = [];
    const timer = setTimeout(
      () => reject(new Error(`got ${items.length} of ${count} '${event}' events`)),
      timeoutMs,
    );
    const listener = (item: T) => {
      items.push(item);
      if (items.length === count) {
        clearTimeout(timer);
        socket.off(event, listener);
        resolve(items);
      }
    };
    socket.on(event, listener);
  });
}

/**
 * Waits until `check` holds, re-checking after each macrotask; for state with no event of its own.
 * `what` may be a function, to name the state it timed out in.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting until ${typeof what === "function" ? what() : what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
