// Lilypad's module renderer: Go's text/template over a map[string]string of JSON-encoded inputs, with
// `subst` added, and the result checked as JSON the way json.Unmarshal checks it.
import { parseTemplate, type ParsedTemplate } from './parser.ts'
import { executeTemplate } from './exec.ts'
import { builtins, lilypadFuncs, type GoFunc } from './funcs.ts'
import { GoStringMap } from './values.ts'
import { checkGoJson, marshalGoString } from './go-json.ts'
import { ModuleJsonError, TemplateBudgetError } from './errors.ts'

export { TemplateError, TemplateParseError, TemplateExecError, ModuleJsonError, TemplateBudgetError, type TemplateBudget } from './errors.ts'
export { marshalGoString, checkGoJson } from './go-json.ts'
export { renderModuleTemplateBudgeted, TemplateRenderer, DEFAULT_RENDER_BUDGET, type RenderBudget } from './budgeted.ts'

const funcs: Record<string, GoFunc> = { ...builtins, ...lilypadFuncs }

/** Parses a template with the builtins and `subst` defined (text/template's New(name).Funcs(...).Parse). */
export function parseModuleTemplate (name: string, text: string): ParsedTemplate {
  return parseTemplate(name, text, fn => Object.hasOwn(funcs, fn))
}

/** Budgets that every machine counts alike, so a template over one fails the same way everywhere. */
export interface RenderLimits {
  /** Nodes walked and range iterations run. */
  maxSteps?: number
  /** Bytes of rendered UTF-8. */
  maxOutputBytes?: number
}

/** Executes a parsed template over the inputs, each JSON-encoded first as Lilypad does. */
export function executeModuleTemplate (tmpl: ParsedTemplate, inputs: Record<string, string>, limits: RenderLimits = {}): string {
  const data = new GoStringMap(Object.entries(inputs).map(([k, v]) => [k, marshalGoString(v)]))
  const rendered = executeTemplate(tmpl, data, funcs, { maxSteps: limits.maxSteps, maxOutputChars: limits.maxOutputBytes })
  if (limits.maxOutputBytes !== undefined && Buffer.byteLength(rendered, 'utf8') > limits.maxOutputBytes) {
    throw new TemplateBudgetError('output', tmpl.name, `more than ${limits.maxOutputBytes} bytes of output`)
  }
  return rendered
}

export interface RenderOptions {
  /** The template's name in error messages; Lilypad uses "<repo>-<path>-<commit>". */
  name: string
  text: string
  inputs?: Record<string, string>
  limits?: RenderLimits
}

/**
 * Renders a module template and checks that the result is JSON; throws a TemplateError otherwise.
 * It runs on the caller's thread with no time bound: a node renders modules it was sent through
 * `renderModuleTemplateBudgeted` (budgeted.ts) instead.
 */
export function renderModuleTemplate (opts: RenderOptions): string {
  const tmpl = parseModuleTemplate(opts.name, opts.text)
  const rendered = executeModuleTemplate(tmpl, opts.inputs ?? {}, opts.limits)
  assertGoJson(opts.name, rendered)
  return rendered
}

export function assertGoJson (name: string, rendered: string): void {
  const bytes = Buffer.from(rendered, 'utf8')
  const err = checkGoJson(bytes)
  if (err === null) return
  const upTo = bytes.subarray(0, Math.max(err.offset - 1, 0)).toString('utf8')
  const lastNewline = upTo.lastIndexOf('\n')
  const line = upTo.split('\n').length
  const column = Buffer.byteLength(upTo.slice(lastNewline + 1), 'utf8') + 1
  throw new ModuleJsonError(
    `template: ${name}: rendered module is not valid JSON: ${err.message} (offset ${err.offset}, line ${line}, column ${column})`,
    name, { line, column }, err.offset, rendered)
}
