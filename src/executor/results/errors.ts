/** Errors from building, hashing, storing or fetching results; callers compare `code`, not classes. */
export type ResultsErrorCode =
  | 'RESULTS_NOT_A_DIRECTORY'
  | 'RESULTS_UNSUPPORTED_ENTRY'
  | 'RESULTS_TOO_LARGE'
  | 'RESULTS_FETCH_TIMEOUT'
  | 'RESULTS_FETCH_FAILED'
  | 'RESULTS_BAD_CID'
  | 'RESULTS_BAD_PATH'
  | 'RESULTS_NOT_FOUND'

export class ResultsError extends Error {
  override readonly name = 'ResultsError'
  constructor (readonly code: ResultsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}
