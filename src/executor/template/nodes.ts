// The parse tree of a Go text/template, mirroring text/template/parse/node.go. `String()` of each
// node reproduces Go's, because Go prints it inside execution errors ("executing ... at <.Field>").

export interface NumberValue {
  text: string
  isInt: boolean
  isUint: boolean
  isFloat: boolean
  isComplex: boolean
  int: bigint
  uint: bigint
  float: number
}

export type Node =
  | { type: 'text', pos: number, text: string }
  | { type: 'comment', pos: number, text: string }
  | { type: 'action', pos: number, line: number, pipe: PipeNode }
  | ControlNode
  | { type: 'template', pos: number, line: number, name: string, pipe: PipeNode | null }
  | { type: 'break' | 'continue', pos: number, line: number }
  | ListNode
  | PipeNode
  | CommandNode
  | ArgNode
  | { type: 'end' | 'else', pos: number, line: number }

export interface ControlNode { type: 'if' | 'with' | 'range', pos: number, line: number, pipe: PipeNode, list: ListNode, elseList: ListNode | null }
export interface ListNode { type: 'list', pos: number, nodes: Node[] }
export interface PipeNode { type: 'pipe', pos: number, line: number, isAssign: boolean, decl: VariableNode[], cmds: CommandNode[] }
export interface CommandNode { type: 'command', pos: number, args: ArgNode[] }
export interface VariableNode { type: 'variable', pos: number, ident: string[] }
export interface FieldNode { type: 'field', pos: number, ident: string[] }
export interface ChainNode { type: 'chain', pos: number, node: ArgNode, field: string[] }

export type ArgNode =
  | FieldNode
  | VariableNode
  | ChainNode
  | PipeNode
  | { type: 'identifier', pos: number, ident: string }
  | { type: 'dot', pos: number }
  | { type: 'nil', pos: number }
  | { type: 'bool', pos: number, value: boolean }
  | { type: 'number', pos: number, value: NumberValue }
  | { type: 'string', pos: number, quoted: string, text: string }

export function nodeString (n: Node): string {
  switch (n.type) {
    case 'text': return JSON.stringify(n.text)
    case 'comment': return `{{${n.text}}}`
    case 'action': return `{{${nodeString(n.pipe)}}}`
    case 'if':
    case 'with':
    case 'range': {
      const els = n.elseList ? `{{else}}${nodeString(n.elseList)}` : ''
      return `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}${els}{{end}}`
    }
    case 'template':
      return n.pipe ? `{{template ${JSON.stringify(n.name)} ${nodeString(n.pipe)}}}` : `{{template ${JSON.stringify(n.name)}}}`
    case 'break': return '{{break}}'
    case 'continue': return '{{continue}}'
    case 'list': return n.nodes.map(nodeString).join('')
    case 'pipe': {
      let s = ''
      if (n.decl.length > 0) {
        s = n.decl.map(nodeString).join(', ') + (n.isAssign ? ' = ' : ' := ')
      }
      return s + n.cmds.map(nodeString).join(' | ')
    }
    case 'command':
      return n.args.map(a => a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a)).join(' ')
    case 'variable': return n.ident.join('.')
    case 'field': return n.ident.map(i => '.' + i).join('')
    case 'chain': {
      const base = n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node)
      return base + n.field.map(f => '.' + f).join('')
    }
    case 'identifier': return n.ident
    case 'dot': return '.'
    case 'nil': return 'nil'
    case 'bool': return n.value ? 'true' : 'false'
    case 'number': return n.value.text
    case 'string': return n.quoted
    case 'end': return '{{end}}'
    case 'else': return '{{else}}'
  }
}
