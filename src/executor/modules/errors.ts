// Errors of module loading, each with a stable `code`.

export type ModuleErrorCode =
  | 'MODULE_REF_INVALID'
  | 'MODULE_REPO_NOT_FOUND'
  | 'MODULE_REF_NOT_FOUND'
  | 'MODULE_TEMPLATE_NOT_FOUND'
  | 'MODULE_MIRRORS_INVALID'
  | 'MODULE_SPEC_INVALID'
  | 'MODULE_GIT_FAILED'
  | 'MODULE_SOURCE_REFUSED'
  | 'MODULE_REPO_TOO_LARGE'

export class ModuleError extends Error {
  constructor (readonly code: ModuleErrorCode, message: string) {
    super(message)
    this.name = 'ModuleError'
  }
}
