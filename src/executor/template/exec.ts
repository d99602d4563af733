// Executes a parsed template the way Go's text/template/exec.go does, over a map[string]string.
import type { ArgNode, ChainNode, CommandNode, ControlNode, FieldNode, ListNode, Node, NumberValue, PipeNode, VariableNode } from './nodes.ts'
import { nodeString } from './nodes.ts'
import type { ParsedTemplate } from './parser.ts'
import { GoStringMap, type GoValue, goTypeName, isTrue } from './values.ts'
import { FuncError, type GoFunc, type ParamType } from './funcs.ts'
import { formatValue } from './fmt.ts'
import { TemplateBudgetError, TemplateExecError, positionOf } from './errors.ts'

const MISSING: unique symbol = Symbol('missingVal')
type Final = GoValue | typeof MISSING

const maxExecDepth = 100000

class BreakSignal {}
class ContinueSignal {}
const walkBreak = new BreakSignal()
const walkContinue = new ContinueSignal()

interface Variable { name: string, value: GoValue }

const noFlags = { plus: false, minus: false, sharp: false, space: false, zero: false, width: null, prec: null }

/** Budgets of one execution; a template going past one fails with a TemplateBudgetError. */
export interface ExecLimits {
  /** Nodes walked and range iterations run, all together: the same count on every machine. */
  maxSteps?: number
  /** UTF-16 code units written (each at least one byte of UTF-8). */
  maxOutputChars?: number
}

export function executeTemplate (tmpl: ParsedTemplate, data: GoValue, funcs: Record<string, GoFunc>, limits: ExecLimits = {}): string {
  const out = new Output(tmpl.name, limits)
  const s = new State(tmpl, funcs, tmpl.name, [{ name: '$', value: data }], 0, out)
  s.walk(data, tmpl.root)
  return out.parts.join('')
}

/** The text written so far, and the budgets shared by a template and those it calls. */
class Output {
  readonly parts: string[] = []
  private chars = 0
  private steps = 0
  private readonly maxSteps: number
  private readonly maxChars: number

  constructor (private readonly name: string, limits: ExecLimits) {
    this.maxSteps = limits.maxSteps ?? Infinity
    this.maxChars = limits.maxOutputChars ?? Infinity
  }

  push (text: string): void {
    this.chars += text.length
    if (this.chars > this.maxChars) throw new TemplateBudgetError('output', this.name, `more than ${this.maxChars} characters of output`)
    this.parts.push(text)
  }

  /** A string a function made counts against the output budget too: it may be printed whole. */
  checkValue (v: GoValue): GoValue {
    if (typeof v === 'string' && v.length > this.maxChars) throw new TemplateBudgetError('output', this.name, `a value of more than ${this.maxChars} characters`)
    return v
  }

  step (): void {
    if (++this.steps > this.maxSteps) throw new TemplateBudgetError('steps', this.name, `more than ${this.maxSteps} steps`)
  }
}

class State {
  private node: Node | null = null

  constructor (
    private readonly tmpl: ParsedTemplate,
    private readonly funcs: Record<string, GoFunc>,
    private readonly current: string,
    private vars: Variable[],
    private readonly depth: number,
    readonly out: Output
  ) {}

  private at (node: Node): void { this.node = node }

  private errorf (msg: string): never {
    const name = this.tmpl.name
    if (this.node === null) {
      throw new TemplateExecError(`template: ${name}: ${msg}`, name, { line: 0, column: 0 })
    }
    const pos = positionOf(this.tmpl.text, this.node.pos)
    throw new TemplateExecError(
      `template: ${name}:${pos.line}:${pos.column}: executing ${JSON.stringify(this.current)} at <${nodeString(this.node)}>: ${msg}`,
      name, pos)
  }

  private mark (): number { return this.vars.length }
  private pop (mark: number): void { this.vars.length = mark }
  private push (name: string, value: GoValue): void { this.vars.push({ name, value }) }

  private setVar (name: string, value: GoValue): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value
        return
      }
    }
    this.errorf(`undefined variable: ${name}`)
  }

  private setTopVar (n: number, value: GoValue): void {
    this.vars[this.vars.length - n]!.value = value
  }

  private varValue (name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) return this.vars[i]!.value
    }
    this.errorf(`undefined variable: ${name}`)
  }

  walk (dot: GoValue, node: Node): void {
    this.at(node)
    this.out.step()
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe)
        if (node.pipe.decl.length === 0) this.printValue(node, val)
        return
      }
      case 'break': throw walkBreak
      case 'continue': throw walkContinue
      case 'comment': return
      case 'if':
      case 'with':
        return this.walkIfOrWith(node.type, dot, node.pipe, node.list, node.elseList)
      case 'list':
        for (const n of node.nodes) this.walk(dot, n)
        return
      case 'range': return this.walkRange(dot, node)
      case 'template': return this.walkTemplate(dot, node)
      case 'text':
        this.out.push(node.text)
        return
      default:
        this.errorf(`unknown node: ${nodeString(node)}`)
    }
  }

  private walkIfOrWith (typ: 'if' | 'with', dot: GoValue, pipe: PipeNode, list: ListNode, elseList: ListNode | null): void {
    const mark = this.mark()
    try {
      const val = this.evalPipeline(dot, pipe)
      if (isTrue(val)) this.walk(typ === 'with' ? val : dot, list)
      else if (elseList !== null) this.walk(dot, elseList)
    } finally {
      this.pop(mark)
    }
  }

  private walkRange (dot: GoValue, r: ControlNode): void {
    this.at(r)
    const outer = this.mark()
    try {
      const val = this.evalPipeline(dot, r.pipe)
      const mark = this.mark()
      const oneIteration = (index: GoValue, elem: GoValue): void => {
        const decl = r.pipe.decl
        if (decl.length > 0) {
          if (r.pipe.isAssign) this.setVar(decl[0]!.ident[0]!, decl.length > 1 ? index : elem)
          else this.setTopVar(1, elem)
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1]!.ident[0]!, elem)
          else this.setTopVar(2, index)
        }
        this.out.step()
        try {
          this.walk(elem, r.list)
        } catch (e) {
          if (e !== walkContinue) throw e
        } finally {
          this.pop(mark)
        }
      }
      let ran = false
      try {
        if (val instanceof GoStringMap) {
          for (const k of val.sortedKeys()) {
            ran = true
            oneIteration(k, val.entries.get(k)!)
          }
        } else if (typeof val === 'bigint') {
          if (r.pipe.decl.length > 1) this.errorf(`can't use ${formatValue(val, 'v', noFlags)} to iterate over more than one variable`)
          for (let i = 0n; i < val; i++) {
            ran = true
            oneIteration(i, i)
          }
        } else if (val !== undefined && val !== null) {
          this.errorf(`range can't iterate over ${formatValue(val, 'v', noFlags)}`)
        }
      } catch (e) {
        if (e !== walkBreak) throw e
      }
      if (!ran && r.elseList !== null) this.walk(dot, r.elseList)
    } finally {
      this.pop(outer)
    }
  }

  private walkTemplate (dot: GoValue, t: Extract<Node, { type: 'template' }>): void {
    this.at(t)
    const tree = this.tmpl.trees.get(t.name)
    if (tree === undefined) this.errorf(`template ${JSON.stringify(t.name)} not defined`)
    if (this.depth === maxExecDepth) this.errorf(`exceeded maximum template depth (${maxExecDepth})`)
    const newDot = this.evalPipeline(dot, t.pipe)
    const inner = new State(this.tmpl, this.funcs, t.name, [{ name: '$', value: newDot }], this.depth + 1, this.out)
    inner.walk(newDot, tree)
  }

  private evalPipeline (dot: GoValue, pipe: PipeNode | null): GoValue {
    if (pipe === null) return undefined
    this.at(pipe)
    let value: Final = MISSING
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value)
      // A nil interface{} result is no value at all (Go digs into interface values here).
      if (value === null) value = undefined
    }
    const v = value === MISSING ? undefined : value
    for (const variable of pipe.decl) {
      if (pipe.isAssign) this.setVar(variable.ident[0]!, v)
      else this.push(variable.ident[0]!, v)
    }
    return v
  }

  private notAFunction (args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0]!)}`)
  }

  private evalCommand (dot: GoValue, cmd: CommandNode, final: Final): GoValue {
    const first = cmd.args[0]!
    switch (first.type) {
      case 'field': return this.evalFieldNode(dot, first, cmd.args, final)
      case 'chain': return this.evalChainNode(dot, first, cmd.args, final)
      case 'identifier': return this.evalFunction(dot, first, cmd, cmd.args, final)
      case 'pipe':
        this.notAFunction(cmd.args, final)
        return this.evalPipeline(dot, first)
      case 'variable': return this.evalVariableNode(dot, first, cmd.args, final)
    }
    this.at(first)
    this.notAFunction(cmd.args, final)
    switch (first.type) {
      case 'bool': return first.value
      case 'dot': return dot
      case 'nil': return this.errorf('nil is not a command')
      case 'number': return this.idealConstant(first.value)
      case 'string': return first.text
    }
    this.errorf(`can't evaluate command ${JSON.stringify(nodeString(first))}`)
  }

  private idealConstant (n: NumberValue): GoValue {
    const t = n.text
    const isHexInt = t.length > 2 && t[0] === '0' && (t[1] === 'x' || t[1] === 'X') && !/[pP]/.test(t)
    if (n.isFloat && !isHexInt && !t.startsWith('\'') && /[.eEpP]/.test(t)) return n.float
    if (n.isInt) return n.int
    if (n.isUint) this.errorf(`${n.text} overflows int`)
    return undefined
  }

  private evalFieldNode (dot: GoValue, field: FieldNode, args: ArgNode[], final: Final): GoValue {
    this.at(field)
    return this.evalFieldChain(dot, dot, field, field.ident, args, final)
  }

  private evalChainNode (dot: GoValue, chain: ChainNode, args: ArgNode[], final: Final): GoValue {
    this.at(chain)
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`)
    const pipe = this.evalArg(dot, null, chain.node)
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final)
  }

  private evalVariableNode (dot: GoValue, variable: VariableNode, args: ArgNode[], final: Final): GoValue {
    this.at(variable)
    const value = this.varValue(variable.ident[0]!)
    if (variable.ident.length === 1) {
      this.notAFunction(args, final)
      return value
    }
    return this.evalFieldChain(dot, value, variable, variable.ident.slice(1), args, final)
  }

  private evalFieldChain (dot: GoValue, receiver: GoValue, node: Node, ident: string[], args: ArgNode[], final: Final): GoValue {
    const n = ident.length
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(ident[i]!, [], MISSING, receiver)
    return this.evalField(ident[n - 1]!, args, final, receiver)
  }

  private evalField (fieldName: string, args: ArgNode[], final: Final, receiver: GoValue): GoValue {
    if (receiver === undefined || receiver === null) return undefined
    const hasArgs = args.length > 1 || final !== MISSING
    if (receiver instanceof GoStringMap) {
      if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`)
      return receiver.entries.get(fieldName)
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${goTypeName(receiver)}`)
  }

  private evalFunction (dot: GoValue, node: Extract<ArgNode, { type: 'identifier' }>, cmd: Node, args: ArgNode[], final: Final): GoValue {
    this.at(node)
    const name = node.ident
    const fn = this.funcs[name]
    if (fn === undefined) this.errorf(`${JSON.stringify(name)} is not a defined function`)
    return this.evalCall(dot, fn, cmd, name, args, final)
  }

  private evalCall (dot: GoValue, fn: GoFunc, node: Node, name: string, allArgs: ArgNode[], final: Final): GoValue {
    const args = allArgs.slice(1)
    const numParams = fn.params.length + (fn.variadic !== null ? 1 : 0)
    let numIn = args.length
    if (final !== MISSING) numIn++
    let numFixed = args.length
    if (fn.variadic !== null) {
      numFixed = fn.params.length
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${args.length}`)
    } else if (numIn !== numParams) {
      this.errorf(`wrong number of args for ${name}: want ${numParams} got ${numIn}`)
    }

    if (name === 'and' || name === 'or') {
      let v: GoValue
      for (const arg of args) {
        v = this.evalArg(dot, 'value', arg)
        if (isTrue(v) === (name === 'or')) return v
      }
      if (final !== MISSING) v = this.validateType(final, 'value')
      return v
    }

    const argv: GoValue[] = []
    let i = 0
    for (; i < numFixed && i < args.length; i++) argv.push(this.evalArg(dot, fn.params[i]!, args[i]!))
    if (fn.variadic !== null) {
      for (; i < args.length; i++) argv.push(this.evalArg(dot, fn.variadic, args[i]!))
    }
    if (final !== MISSING) {
      const t = fn.variadic !== null && numIn - 1 >= numFixed ? fn.variadic : fn.params[numIn - 1] ?? fn.variadic!
      argv.push(this.validateType(final, t))
    }
    try {
      return this.out.checkValue(fn.call(argv, name === 'call' && args[0] ? nodeString(args[0]) : undefined))
    } catch (err) {
      if (err instanceof FuncError) {
        this.at(node)
        this.errorf(`error calling ${name}: ${err.message}`)
      }
      throw err
    }
  }

  private validateType (value: GoValue, typ: ParamType | null): GoValue {
    if (value === undefined || value === null) {
      if (typ === null) return undefined
      if (typ === 'value') return undefined
      if (typ === 'any') return null
      this.errorf(`invalid value; expected ${typ}`)
    }
    if (typ === 'string' && typeof value !== 'string') {
      this.errorf(`wrong type for value; expected string; got ${goTypeName(value)}`)
    }
    return value
  }

  private evalArg (dot: GoValue, typ: ParamType | null, n: ArgNode): GoValue {
    this.at(n)
    switch (n.type) {
      case 'dot': return this.validateType(dot, typ)
      case 'nil':
        if (typ === 'value') return undefined
        if (typ === 'any') return null
        return this.errorf(`cannot assign nil to ${typ}`)
      case 'field': return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), typ)
      case 'variable': return this.validateType(this.evalVariableNode(dot, n, [], MISSING), typ)
      case 'pipe': return this.validateType(this.evalPipeline(dot, n), typ)
      case 'identifier': {
        const fn = this.funcs[n.ident]
        if (fn === undefined) this.errorf(`${JSON.stringify(n.ident)} is not a defined function`)
        return this.validateType(this.evalCall(dot, fn, n, n.ident, [n], MISSING), typ)
      }
      case 'chain': return this.validateType(this.evalChainNode(dot, n, [], MISSING), typ)
    }
    if (typ === 'string') {
      if (n.type === 'string') return n.text
      this.errorf(`expected string; found ${nodeString(n)}`)
    }
    // reflect.Value and interface{} parameters take constants as they are.
    switch (n.type) {
      case 'bool': return n.value
      case 'number': return this.idealConstant(n.value)
      case 'string': return n.text
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${typ}`)
  }

  private printValue (n: Node, v: GoValue): void {
    this.at(n)
    this.out.push(v === undefined || v === null ? '<no value>' : formatValue(v, 'v', noFlags))
  }
}
