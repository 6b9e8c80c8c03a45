import { EventEmitter } from "node:events";

/**
 * What an engine.io middleware (`io.engine.use(fn)`) gets as `res` in the app server. The client's
 * HTTP request was answered by the broker node, so nothing written here reaches the client: headers
 * and cookies a middleware sets are dropped (documented). It is a ServerResponse enough for the
 * usual middlewares (express-session, helmet, cookie parsers) to run, and it "ends" once the
 * middlewares passed, as engine.io's handshake response would.
 */
export class VirtualResponse extends EventEmitter {
  statusCode = 200;
  statusMessage = "";
  headersSent = false;
  writableEnded = false;
  finished = false;
  private readonly headers = new Map<string, number | string | readonly string[]>();

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.headers.set(name.toLowerCase(), value);
    return this;
  }

  getHeader(name: string): number | string | readonly string[] | undefined {
    return this.headers.get(name.toLowerCase());
  }

  getHeaders(): Record<string, number | string | readonly string[]> {
    return Object.fromEntries(this.headers);
  }

  getHeaderNames(): string[] {
    return [...this.headers.keys()];
  }

  hasHeader(name: string): boolean {
    return this.headers.has(name.toLowerCase());
  }

  removeHeader(name: string): void {
    this.headers.delete(name.toLowerCase());
  }

  writeHead(statusCode: number, headers?: Record<string, number | string | readonly string[]>): this {
    this.statusCode = statusCode;
    for (const [name, value] of Object.entries(headers ?? {})) this.setHeader(name, value);
    this.headersSent = true;
    return this;
  }

  write(): boolean {
    this.headersSent = true;
    return true;
  }

  /** Node's ServerResponse writes its head on the first write; middlewares (express-session) call it. */
  _implicitHeader(): void {
    this.writeHead(this.statusCode);
  }

  end(): this {
    if (this.writableEnded) return this;
    this.headersSent = true;
    this.writableEnded = this.finished = true;
    this.emit("finish");
    this.emit("close");
    return this;
  }
}
