/** The bounds every message field is held to: plain numbers, light enough for any entry point to read. */
export const LIMITS = {
  shortString: 256,
  moduleRepo: 256,
  moduleCommit: 64,
  modulePath: 256,
  inputs: 16 * 1024,
  cid: 128,
  multiaddr: 256,
  multiaddrs: 8,
  modules: 64,
  trusted: 32,
  mediators: 8,
  /** amounts above this are rejected: 10^30 wei is far beyond any real token supply */
  maxAmount: 10n ** 30n,
  /** the longest any one window of a deal (agree, submit, judge, mediate) may be */
  maxWindowMs: 2 * 24 * 3600_000,
  /**
   * The longest a deal may last, from its signing (and so from its agree deadline) to its mediate
   * deadline. The settlement contract's withdrawal delay must be longer (a week by default): a
   * withdrawal asked for after signing is then paid only after every deadline of the deal.
   */
  maxDealLifetimeMs: 6 * 24 * 3600_000
} as const
