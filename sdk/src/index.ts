export { useRegio, type RegioHandle, type RegioOptions } from "./use-regio.ts";
export { RegioError, ErrorCode, ConnectionStringError, parseConnectionString } from "@regio/protocol";
