/**
 * What the book holds at most: anyone can sign offers, so an offer or job past these is refused, and
 * one author cannot fill the book for everyone else.
 */
export interface BookLimits {
  /** resource offers, all authors together */
  maxOffers: number
  /** jobs, all authors together */
  maxJobs: number
  /** resource offers (one per slot) or jobs of one author */
  maxPerAuthor: number
}

export const DEFAULT_BOOK_LIMITS: BookLimits = { maxOffers: 10_000, maxJobs: 10_000, maxPerAuthor: 64 }
