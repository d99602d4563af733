// A parser for Go's text/template, following text/template/parse/parse.go production by production,
// so that the same templates are accepted and the same ones rejected, with Go's messages.
import { type Item, ItemType, Lexer, itemString } from './lexer.ts'
import type { ArgNode, CommandNode, ListNode, Node, PipeNode, VariableNode } from './nodes.ts'
import { nodeString } from './nodes.ts'
import { parseNumber, goUnquote, SyntaxError as UnquoteSyntaxError } from './unquote.ts'
import { TemplateParseError, positionOf } from './errors.ts'

export interface ParsedTemplate {
  name: string
  root: ListNode
  /** Templates named by {{define}} or {{block}}, the main one included. */
  trees: Map<string, ListNode>
  text: string
}

export function parseTemplate (name: string, text: string, hasFunction: (name: string) => boolean): ParsedTemplate {
  const trees = new Map<string, ListNode>()
  const p = new Parser(name, text, hasFunction, trees)
  const root = p.parseMain()
  return { name, root, trees, text }
}

function isEmptyTree (n: Node): boolean {
  switch (n.type) {
    case 'list': return n.nodes.every(isEmptyTree)
    case 'text': return n.text.trim() === ''
    case 'comment': return true
    default: return false
  }
}

class Parser {
  private readonly lex: Lexer
  private readonly items: Item[] = []
  private idx = 0
  private vars: string[] = ['$']
  private actionLine = 0
  private rangeDepth = 0

  constructor (
    private readonly name: string,
    private readonly text: string,
    private readonly hasFunction: (name: string) => boolean,
    private readonly trees: Map<string, ListNode>
  ) {
    this.lex = new Lexer(text)
  }

  // Token handling: `items` holds what the lexer produced so far; the last one is Go's token[0].
  private next (): Item {
    if (this.idx === this.items.length) this.items.push(this.lex.nextItem())
    return this.items[this.idx++]!
  }

  private backup (n = 1): void { this.idx -= n }

  private peek (): Item {
    const t = this.next()
    this.backup()
    return t
  }

  private nextNonSpace (): Item {
    let t: Item
    do t = this.next(); while (t.typ === ItemType.Space)
    return t
  }

  private peekNonSpace (): Item {
    const t = this.nextNonSpace()
    this.backup()
    return t
  }

  private errorf (msg: string): never {
    const tok = this.items[this.items.length - 1] ?? { line: 1, pos: 0 }
    const position = positionOf(this.text, tok.pos)
    const goMessage = `template: ${this.name}:${tok.line}: ${msg}`
    throw new TemplateParseError(`template: ${this.name}:${tok.line}:${position.column}: ${msg}`, this.name, { line: tok.line, column: position.column }, goMessage)
  }

  private unexpected (token: Item, context: string): never {
    if (token.typ === ItemType.Error) {
      let extra = ''
      if (this.actionLine !== 0 && this.actionLine !== token.line) {
        extra = ` in action started at ${this.name}:${this.actionLine}`
        if (token.val.endsWith(' action')) extra = extra.slice(' in action'.length)
      }
      this.errorf(`${itemString(token)}${extra}`)
    }
    this.errorf(`unexpected ${itemString(token)} in ${context}`)
  }

  private expect (expected: ItemType, context: string): Item {
    const token = this.nextNonSpace()
    if (token.typ !== expected) this.unexpected(token, context)
    return token
  }

  private expectOneOf (a: ItemType, b: ItemType, context: string): Item {
    const token = this.nextNonSpace()
    if (token.typ !== a && token.typ !== b) this.unexpected(token, context)
    return token
  }

  private unquote (lit: string): string {
    try {
      return goUnquote(lit)
    } catch (err) {
      if (err instanceof UnquoteSyntaxError) this.errorf(err.message)
      throw err
    }
  }

  private addTree (name: string, root: ListNode): void {
    const existing = this.trees.get(name)
    if (existing !== undefined && !isEmptyTree(existing) && !isEmptyTree(root)) {
      this.errorf(`template: multiple definition of template ${JSON.stringify(name)}`)
    }
    if (existing === undefined || isEmptyTree(existing)) this.trees.set(name, root)
  }

  parseMain (): ListNode {
    const root: ListNode = { type: 'list', pos: this.peek().pos, nodes: [] }
    while (this.peek().typ !== ItemType.EOF) {
      if (this.peek().typ === ItemType.LeftDelim) {
        this.next()
        const save = this.idx
        if (this.nextNonSpace().typ === ItemType.Define) {
          this.parseDefinition()
          continue
        }
        this.idx = save - 1
      }
      const n = this.textOrAction()
      if (n.type === 'end' || n.type === 'else') this.errorf(`unexpected ${nodeString(n)}`)
      root.nodes.push(n)
    }
    this.addTree(this.name, root)
    return root
  }

  private parseDefinition (): void {
    const context = 'define clause'
    const nameTok = this.expectOneOf(ItemType.String, ItemType.RawString, context)
    const name = this.unquote(nameTok.val)
    this.expect(ItemType.RightDelim, context)
    const savedVars = this.vars
    this.vars = ['$']
    const { list, next } = this.itemList()
    if (next.type !== 'end') this.errorf(`unexpected ${nodeString(next)} in ${context}`)
    this.vars = savedVars
    this.addTree(name, list)
  }

  private itemList (): { list: ListNode, next: Node } {
    const list: ListNode = { type: 'list', pos: this.peekNonSpace().pos, nodes: [] }
    while (this.peekNonSpace().typ !== ItemType.EOF) {
      const n = this.textOrAction()
      if (n.type === 'end' || n.type === 'else') return { list, next: n }
      list.nodes.push(n)
    }
    this.errorf('unexpected EOF')
  }

  private textOrAction (): Node {
    const token = this.nextNonSpace()
    switch (token.typ) {
      case ItemType.Text:
        return { type: 'text', pos: token.pos, text: token.val }
      case ItemType.LeftDelim: {
        this.actionLine = token.line
        try {
          return this.action()
        } finally {
          this.actionLine = 0
        }
      }
      case ItemType.Comment:
        return { type: 'comment', pos: token.pos, text: token.val }
      default:
        this.unexpected(token, 'input')
    }
  }

  private action (): Node {
    const token = this.nextNonSpace()
    switch (token.typ) {
      case ItemType.Block: return this.blockControl()
      case ItemType.Break: return this.breakControl(token)
      case ItemType.Continue: return this.continueControl(token)
      case ItemType.Else: return this.elseControl()
      case ItemType.End: return this.endControl()
      case ItemType.If: return this.control('if')
      case ItemType.Range: return this.control('range')
      case ItemType.Template: return this.templateControl()
      case ItemType.With: return this.control('with')
    }
    this.backup()
    const t = this.peek()
    return { type: 'action', pos: t.pos, line: t.line, pipe: this.pipeline('command', ItemType.RightDelim) }
  }

  private breakControl (token: Item): Node {
    const next = this.nextNonSpace()
    if (next.typ !== ItemType.RightDelim) this.unexpected(next, '{{break}}')
    if (this.rangeDepth === 0) this.errorf('{{break}} outside {{range}}')
    return { type: 'break', pos: token.pos, line: token.line }
  }

  private continueControl (token: Item): Node {
    const next = this.nextNonSpace()
    if (next.typ !== ItemType.RightDelim) this.unexpected(next, '{{continue}}')
    if (this.rangeDepth === 0) this.errorf('{{continue}} outside {{range}}')
    return { type: 'continue', pos: token.pos, line: token.line }
  }

  private pipeline (context: string, end: ItemType): PipeNode {
    const token = this.peekNonSpace()
    const pipe: PipeNode = { type: 'pipe', pos: token.pos, line: token.line, isAssign: false, decl: [], cmds: [] }
    for (;;) {
      const v = this.peekNonSpace()
      if (v.typ !== ItemType.Variable) break
      const vStart = this.idx
      this.nextNonSpace()
      const tokenAfterVariable = this.peek()
      const next = this.peekNonSpace()
      const variable: VariableNode = { type: 'variable', pos: v.pos, ident: v.val.split('.') }
      if (next.typ === ItemType.Assign || next.typ === ItemType.Declare) {
        pipe.isAssign = next.typ === ItemType.Assign
        this.nextNonSpace()
        pipe.decl.push(variable)
        this.vars.push(v.val)
        break
      } else if (next.typ === ItemType.Char && next.val === ',') {
        this.nextNonSpace()
        pipe.decl.push(variable)
        this.vars.push(v.val)
        if (context === 'range' && pipe.decl.length < 2) {
          const t = this.peekNonSpace().typ
          if (t === ItemType.Variable || t === ItemType.RightDelim || t === ItemType.RightParen) continue
          this.errorf('range can only initialize variables')
        }
        this.errorf(`too many declarations in ${context}`)
      } else {
        // "$x foo": the variable is an argument, not a declaration.
        void tokenAfterVariable
        this.idx = vStart
        break
      }
    }
    for (;;) {
      const token = this.nextNonSpace()
      if (token.typ === end) {
        this.checkPipeline(pipe, context)
        return pipe
      }
      switch (token.typ) {
        case ItemType.Bool: case ItemType.CharConstant: case ItemType.Complex: case ItemType.Dot:
        case ItemType.Field: case ItemType.Identifier: case ItemType.Number: case ItemType.Nil:
        case ItemType.RawString: case ItemType.String: case ItemType.Variable: case ItemType.LeftParen:
          this.backup()
          pipe.cmds.push(this.command())
          break
        default:
          this.unexpected(token, context)
      }
    }
  }

  private checkPipeline (pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`)
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0]!.type
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`)
      }
    })
  }

  private control (context: 'if' | 'with' | 'range'): Node {
    const mark = this.vars.length
    try {
      const pipe = this.pipeline(context, ItemType.RightDelim)
      if (context === 'range') this.rangeDepth++
      const first = this.itemList()
      const list = first.list
      let next = first.next
      if (context === 'range') this.rangeDepth--
      let elseList: ListNode | null = null
      if (next.type === 'else') {
        if ((context === 'if' && this.peek().typ === ItemType.If) || (context === 'with' && this.peek().typ === ItemType.With)) {
          this.next()
          elseList = { type: 'list', pos: next.pos, nodes: [this.control(context)] }
        } else {
          ({ list: elseList, next } = this.itemList())
          if (next.type !== 'end') this.errorf(`expected end; found ${nodeString(next)}`)
        }
      }
      return { type: context, pos: pipe.pos, line: pipe.line, pipe, list, elseList }
    } finally {
      this.vars.length = mark
    }
  }

  private elseControl (): Node {
    const peek = this.peekNonSpace()
    if (peek.typ === ItemType.If || peek.typ === ItemType.With) return { type: 'else', pos: peek.pos, line: peek.line }
    const token = this.expect(ItemType.RightDelim, 'else')
    return { type: 'else', pos: token.pos, line: token.line }
  }

  private endControl (): Node {
    const token = this.expect(ItemType.RightDelim, 'end')
    return { type: 'end', pos: token.pos, line: token.line }
  }

  private parseTemplateName (token: Item, context: string): string {
    if (token.typ === ItemType.String || token.typ === ItemType.RawString) return this.unquote(token.val)
    this.unexpected(token, context)
  }

  private templateControl (): Node {
    const context = 'template clause'
    const token = this.nextNonSpace()
    const name = this.parseTemplateName(token, context)
    let pipe: PipeNode | null = null
    if (this.nextNonSpace().typ !== ItemType.RightDelim) {
      this.backup()
      pipe = this.pipeline(context, ItemType.RightDelim)
    }
    return { type: 'template', pos: token.pos, line: token.line, name, pipe }
  }

  private blockControl (): Node {
    const context = 'block clause'
    const token = this.nextNonSpace()
    const name = this.parseTemplateName(token, context)
    const pipe = this.pipeline(context, ItemType.RightDelim)
    const savedVars = this.vars
    this.vars = ['$']
    const { list, next } = this.itemList()
    if (next.type !== 'end') this.errorf(`unexpected ${nodeString(next)} in ${context}`)
    this.vars = savedVars
    this.addTree(name, list)
    return { type: 'template', pos: token.pos, line: token.line, name, pipe }
  }

  private command (): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, args: [] }
    for (;;) {
      this.peekNonSpace()
      const operand = this.operand()
      if (operand !== null) cmd.args.push(operand)
      const token = this.next()
      if (token.typ === ItemType.Space) continue
      if (token.typ === ItemType.RightDelim || token.typ === ItemType.RightParen) this.backup()
      else if (token.typ !== ItemType.Pipe) this.unexpected(token, 'operand')
      break
    }
    if (cmd.args.length === 0) this.errorf('empty command')
    return cmd
  }

  private operand (): ArgNode | null {
    let node = this.term()
    if (node === null) return null
    if (this.peek().typ === ItemType.Field) {
      const pos = this.peek().pos
      const fields: string[] = []
      while (this.peek().typ === ItemType.Field) fields.push(this.next().val.slice(1))
      switch (node.type) {
        case 'field':
          node = { type: 'field', pos, ident: [...node.ident, ...fields] }
          break
        case 'variable':
          node = { type: 'variable', pos, ident: [...node.ident, ...fields] }
          break
        case 'bool': case 'string': case 'number': case 'nil': case 'dot':
          this.errorf(`unexpected . after term ${JSON.stringify(nodeString(node))}`)
          break
        default:
          node = { type: 'chain', pos, node, field: fields }
      }
    }
    return node
  }

  private term (): ArgNode | null {
    const token = this.nextNonSpace()
    switch (token.typ) {
      case ItemType.Identifier:
        if (!this.hasFunction(token.val)) this.errorf(`function ${JSON.stringify(token.val)} not defined`)
        return { type: 'identifier', pos: token.pos, ident: token.val }
      case ItemType.Dot:
        return { type: 'dot', pos: token.pos }
      case ItemType.Nil:
        return { type: 'nil', pos: token.pos }
      case ItemType.Variable: {
        const ident = token.val.split('.')
        if (!this.vars.includes(ident[0]!)) this.errorf(`undefined variable ${JSON.stringify(ident[0])}`)
        return { type: 'variable', pos: token.pos, ident }
      }
      case ItemType.Field:
        return { type: 'field', pos: token.pos, ident: token.val.slice(1).split('.') }
      case ItemType.Bool:
        return { type: 'bool', pos: token.pos, value: token.val === 'true' }
      case ItemType.CharConstant:
      case ItemType.Complex:
      case ItemType.Number:
        try {
          return { type: 'number', pos: token.pos, value: parseNumber(token.val, token.typ === ItemType.CharConstant) }
        } catch (err) {
          if (err instanceof UnquoteSyntaxError) this.errorf(err.message)
          throw err
        }
      case ItemType.LeftParen:
        return this.pipeline('parenthesized pipeline', ItemType.RightParen)
      case ItemType.String:
      case ItemType.RawString:
        return { type: 'string', pos: token.pos, quoted: token.val, text: this.unquote(token.val) }
    }
    this.backup()
    return null
  }
}
