// Types of haproxy.mjs, for the TypeScript tests that use it.
export declare const HAPROXY_CFG: string;

export declare function findHaproxy(): string | undefined;

export interface TestVariantOptions {
  port: number;
  backends: [number, number] | number[];
  certFile: string;
  socket: string;
  statsPort: number;
}
export declare function testVariant(text: string, options: TestVariantOptions): string;

export declare function freePort(): Promise<number>;

export declare function haproxyCommand(socketPath: string, command: string): Promise<string>;

/** A server's row of `show stat`, by column name (status: "UP", "UP 1/2", "DOWN"...; check_status: "L7OK"...). */
export type ServerStat = Record<string, string>;
export declare function serverStates(socketPath: string): Promise<Record<string, ServerStat>>;

export interface Haproxy {
  /** https://127.0.0.1:<port>/mcp */
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** The stats socket's path. */
  socket: string;
  /** The configuration it runs (the committed one, as testVariant changed it). */
  config: string;
  /** Everything it printed so far (its log goes to stderr). */
  stderr(): string;
  command(text: string): Promise<string>;
  serverStates(): Promise<Record<string, ServerStat>>;
  stop(): Promise<void>;
}

export declare function startHaproxy(options: {
  backends: number[];
  certPem: string;
  keyPem: string;
  binary?: string;
}): Promise<Haproxy>;
