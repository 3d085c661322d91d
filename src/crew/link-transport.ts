import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

/** What went wrong with a node's connection, in the transport's own words, and what to do about it. */
export interface LinkTrouble {
  error: string;
  fix: string;
}

/**
 * How a NodeLink reaches its node (ssh stdio, Streamable HTTP): everything above it (the MCP
 * client, routing, backoff, version skew) is the same whichever it is.
 */
export interface LinkTransport {
  /** Where the node is, as `tabcrew nodes` shows it (never a secret). */
  url(): string;
  /** A fresh MCP transport for one connection attempt; throws a LinkSetupError when it cannot even be tried. */
  open(): Promise<Transport>;
  /** The connection is up: what the transport says from now on is about its end. */
  connected(): void;
  /** Why an attempt or a connection failed, and the fix. */
  trouble(cause: unknown, fallback: string): LinkTrouble;
  /**
   * A transport with no connection to watch (HTTP: each message is a request) has the link
   * ping the node this often, so a node that is gone is noticed as a dropped ssh is.
   */
  readonly heartbeatMs?: number;
  /** Ends what `open` set up (sessions on the node, pooled sockets). */
  release?(transport: Transport): Promise<void>;
}

/** A connection that cannot be attempted (a token file that cannot be read): says what to do. */
export class LinkSetupError extends Error {
  override name = 'LinkSetupError';
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}
