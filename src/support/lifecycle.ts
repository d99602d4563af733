/**
 * The two lifecycles of the project's parts, one shape each, so that whatever builds a part knows
 * how to end it:
 * - a **service** runs (a node, the actor runtime, the role host, the results exchange, the hash
 *   worker): it comes from a static `start(...)` (or is started once built) and ends with `stop()`;
 * - a **resource** holds something open (the event log, the results store, the peer store, a
 *   connection to the chain): it comes from a static `open(...)` and ends with `close()`.
 * Both end asynchronously, and ending twice does no harm.
 */
export interface Service {
  stop: () => Promise<void>
}

export interface Resource {
  close: () => Promise<void>
}
