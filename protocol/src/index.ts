/** The app-link protocol, written once, imported by both the broker and the SDK. Spec: docs/protocol.md. */
export * from "./messages.ts";
export * from "./codec.ts";
export * from "./errors.ts";
export * from "./token.ts";
export * from "./connection-string.ts";
export * from "./paths.ts";
export * from "./bounds.ts";
export * from "./ids.ts";
export * from "./trace-context.ts";
export * from "./link-cork.ts";
