// Errors of the template renderer, each with a stable `code` and the position Go would report.

/** Line (1-based) and column (0-based byte offset in the line, as Go's ErrorContext counts it). */
export interface TemplatePosition {
  line: number
  column: number
}

export function positionOf (text: string, pos: number): TemplatePosition {
  const before = text.slice(0, pos)
  const lastNewline = before.lastIndexOf('\n')
  let line = 1
  for (let i = 0; i < before.length; i++) if (before.charCodeAt(i) === 10) line++
  return { line, column: Buffer.byteLength(before.slice(lastNewline + 1), 'utf8') }
}

export class TemplateError extends Error {
  constructor (
    readonly code: 'TEMPLATE_PARSE' | 'TEMPLATE_EXEC' | 'MODULE_JSON_INVALID' | 'TEMPLATE_BUDGET_EXCEEDED',
    message: string,
    readonly templateName: string,
    readonly position: TemplatePosition
  ) {
    super(message)
    this.name = 'TemplateError'
  }
}

/** A syntax error, an unknown function or an undefined variable, found while parsing. */
export class TemplateParseError extends TemplateError {
  constructor (message: string, templateName: string, position: TemplatePosition, readonly goMessage: string) {
    super('TEMPLATE_PARSE', message, templateName, position)
    this.name = 'TemplateParseError'
  }
}

/** An error raised while executing a parsed template, worded as Go's ExecError. */
export class TemplateExecError extends TemplateError {
  constructor (message: string, templateName: string, position: TemplatePosition) {
    super('TEMPLATE_EXEC', message, templateName, position)
    this.name = 'TemplateExecError'
  }
}

/** The rendered text is not valid JSON; `offset` is Go's SyntaxError.Offset (bytes read). */
export class ModuleJsonError extends TemplateError {
  constructor (message: string, templateName: string, position: TemplatePosition, readonly offset: number, readonly rendered: string) {
    super('MODULE_JSON_INVALID', message, templateName, position)
    this.name = 'ModuleJsonError'
  }
}

export type TemplateBudget = 'steps' | 'output' | 'time' | 'memory'

/**
 * Rendering went past one of its budgets: steps or output (counted alike on every machine), or the
 * renderer's time or memory. Not a position in the template: where it stopped says nothing useful.
 */
export class TemplateBudgetError extends TemplateError {
  constructor (readonly budget: TemplateBudget, templateName: string, detail: string) {
    super('TEMPLATE_BUDGET_EXCEEDED', `template: ${templateName}: rendering exceeded its ${budget} budget (${detail})`, templateName, { line: 0, column: 0 })
    this.name = 'TemplateBudgetError'
  }
}
