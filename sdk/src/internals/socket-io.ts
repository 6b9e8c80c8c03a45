/**
 * The parts of socket.io that Regio uses beyond its typed API, in one place: upgrading socket.io
 * means re-checking this file (each function names the socket.io member it reaches, and why).
 */
import type { Namespace, Server, Socket } from "socket.io";
import type { Session } from "socket.io-adapter";
import type { Packet } from "socket.io-parser";
import type { RegioEngine } from "../engine/regio-engine.ts";
import type { VirtualConnection } from "../engine/virtual-connection.ts";

/** The options the app gave its Server (`Server#_opts`), to report those Regio cannot honour. */
export function serverOptionsOf(io: Server): Readonly<Record<string, unknown>> {
  return (io._opts as Record<string, unknown> | undefined) ?? {};
}

/** Serves `io` through the SDK's engine (`Server#bind` is typed to take engine.io's). */
export function bindEngine(io: Server, engine: RegioEngine): void {
  io.bind(engine);
}

/**
 * Every namespace of `io` uses this adapter class. socket.io types its adapter constructor after its
 * own copy of socket.io-adapter, which may be another copy than the SDK's.
 */
export function useAdapter(io: Server, adapter: abstract new (nsp: Namespace) => object): void {
  io.adapter(adapter as unknown as Parameters<Server["adapter"]>[0]);
}

/** The namespace of that name if the app has created it (`Server#_nsps`, public but undocumented). */
export function namespaceOf(io: Server, name: string): Namespace | undefined {
  return io._nsps.get(name);
}

/**
 * Runs a namespace's `serverSideEmit` listeners for a message another app server sent
 * (`Namespace#_onServerSideEmit`, what socket.io's own cluster adapters call).
 */
export function runServerSideEmitListeners(nsp: Namespace, args: unknown[]): void {
  nsp._onServerSideEmit(args as [string, ...unknown[]]);
}

/** The private session id socket.io gave the socket for recovery (`Socket#pid`, private). */
export function privateSessionIdOf(socket: Socket): string | undefined {
  const pid = (socket as unknown as { pid?: unknown }).pid;
  return typeof pid === "string" ? pid : undefined;
}

/**
 * Tells the socket's `onAnyOutgoing` listeners about a packet the broker sends it
 * (`Socket#notifyOutgoingListeners`, private: plain socket.io calls it for broadcasts itself).
 */
export function notifyOutgoingListeners(socket: Socket, packet: Packet): void {
  (socket as unknown as { notifyOutgoingListeners?: (packet: Packet) => void }).notifyOutgoingListeners?.(
    packet,
  );
}

/** The SDK's engine under a namespace's server, if that server is served through Regio. */
export function regioEngineOf(nsp: { server: { engine: unknown } }): RegioEngine | undefined {
  const engine = nsp.server.engine as Partial<RegioEngine> | undefined;
  return typeof engine?.recoveringWith === "function" ? (engine as RegioEngine) : undefined;
}

/** The SDK's virtual connection under a socket (`Socket#conn`, typed as engine.io's Socket). */
export function virtualConnectionOf(socket: Socket): Partial<VirtualConnection> {
  return socket.conn as unknown as Partial<VirtualConnection>;
}

/** What `restoreSession` resolves for "nothing to recover": null, as socket.io's own adapters do, though typed Session. */
export const NO_SESSION = null as unknown as Session;
