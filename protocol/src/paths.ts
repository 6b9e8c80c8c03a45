/** URL layout of a broker node, shared by broker and SDK. */

/** Hub names: what Azure Web PubSub accepts (letters, digits, `_`; starting with a letter), up to 128. */
export const HUB_NAME = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;

export const clientPath = (hub: string): string => `/clients/socketio/hubs/${hub}`;
export const appLinkPath = (hub: string): string => `/server/hubs/${hub}`;

/**
 * A client request is for `/clients/socketio/hubs/<hub>` or `<hub>/`, then the query: nothing else
 * may follow the hub (no `..`, no further segments), so one path names one hub.
 */
export const CLIENT_PATH_PATTERN = /^\/clients\/socketio\/hubs\/([^/?]+)\/?(\?|$)/;
export const APP_LINK_PATH_PATTERN = /^\/server\/hubs\/([^/?]+)\/?(\?|$)/;

export const HEALTH_PATH = "/healthz";
export const READY_PATH = "/readyz";
/** `POST` here, with a token signed with the access key for the audience `_drain`: the node drains. */
export const DRAIN_PATH = "/drain";

/**
 * A header of the app link's upgrade request: what the SDK reads beyond the first version of the
 * protocol (comma-separated). A node sends a link only what its SDK named here; an older node
 * ignores the header, an older SDK does not send it.
 */
export const LINK_FEATURES_HEADER = "regio-link-features";
/** LINK_FEATURES_HEADER: the SDK reads SessionMessages (several client messages in one frame). */
export const SESSION_MESSAGES_FEATURE = "session-messages";

/** Whether a link request's LINK_FEATURES_HEADER value names `feature`. */
export function namesLinkFeature(header: string | string[] | undefined, feature: string): boolean {
  const values = Array.isArray(header) ? header.join(",") : (header ?? "");
  return values.split(",").some((value) => value.trim().toLowerCase() === feature);
}
