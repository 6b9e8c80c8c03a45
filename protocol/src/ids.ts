/**
 * Ids of different things are different types, though each is a string on the wire: a node id
 * cannot be passed where a session id is expected (as socket.io's cluster engine does for its ids).
 * An id gets its type where it is born (generated, configured, or decoded from a checked frame).
 */
declare const brand: unique symbol;
type Branded<B extends string> = string & { readonly [brand]: B };

/** A broker node (one per process; the same across restarts of a container). */
export type NodeId = Branded<"NodeId">;
/** An Engine.IO session on a node: `<engine.io id>.<nodeId>`, so any node can find the owner. */
export type SessionId = Branded<"SessionId">;
/** A Socket.IO socket (one per namespace a client joined). */
export type SocketId = Branded<"SocketId">;
/** An app server (stable for the life of its process, or given by the app). */
export type AppServerId = Branded<"AppServerId">;
/** One app server process's stream of numbered operations. */
export type StreamId = Branded<"StreamId">;

// Each type has a value of the same name that gives a string that type: `NodeId("n1")`.
export const NodeId = (id: string): NodeId => id as NodeId;
export const SessionId = (id: string): SessionId => id as SessionId;
export const SocketId = (id: string): SocketId => id as SocketId;
export const AppServerId = (id: string): AppServerId => id as AppServerId;
export const StreamId = (id: string): StreamId => id as StreamId;
