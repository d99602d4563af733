// A lexer for Go's text/template syntax, following the states of Go's text/template/parse/lex.go so
// that the same input yields the same tokens and the same error messages.

export enum ItemType {
  Error, Bool, Char, CharConstant, Comment, Complex, Assign, Declare, EOF, Field, Identifier,
  LeftDelim, LeftParen, Number, Pipe, RawString, RightDelim, RightParen, Space, String, Text, Variable,
  // Keywords come after this marker, as in Go (item.String() prints them as <name>).
  Keyword, Block, Break, Continue, Dot, Define, Else, End, If, Nil, Range, Template, With
}

export interface Item {
  typ: ItemType
  pos: number // index into the template text (UTF-16 units)
  val: string
  line: number // 1-based line at which the item starts
}

const keywords: Record<string, ItemType> = {
  '.': ItemType.Dot,
  block: ItemType.Block,
  break: ItemType.Break,
  continue: ItemType.Continue,
  define: ItemType.Define,
  else: ItemType.Else,
  end: ItemType.End,
  if: ItemType.If,
  range: ItemType.Range,
  nil: ItemType.Nil,
  template: ItemType.Template,
  with: ItemType.With
}

const leftDelim = '{{'
const rightDelim = '}}'
const leftComment = '/*'
const rightComment = '*/'
const trimMarker = '-'
const trimMarkerLen = 2 // the marker and the space around it

/** Go's item.String(), used inside parse error messages. */
export function itemString (i: Item): string {
  if (i.typ === ItemType.EOF) return 'EOF'
  if (i.typ === ItemType.Error) return i.val
  if (i.typ > ItemType.Keyword) return `<${i.val}>`
  if ([...i.val].length > 10) return `${goQuotePrefix(i.val, 10)}...`
  return goQuoteSimple(i.val)
}

// %.10q quotes the first 10 runes.
function goQuotePrefix (s: string, runes: number): string {
  return goQuoteSimple([...s].slice(0, runes).join(''))
}

function goQuoteSimple (s: string): string {
  // Tokens are template source text; a JSON-style quote matches strconv.Quote for printable text.
  let out = '"'
  for (const ch of s) {
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\r') out += '\\r'
    else out += ch
  }
  return out + '"'
}

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n'
const isAlphaNumeric = (c: string): boolean => c === '_' || /^[\p{L}\p{Nd}]$/u.test(c)

function hasLeftTrimMarker (s: string, at: number): boolean {
  return s.length - at >= 2 && s[at] === trimMarker && isSpace(s[at + 1]!)
}

function hasRightTrimMarker (s: string, at: number): boolean {
  return s.length - at >= 2 && isSpace(s[at]!) && s[at + 1] === trimMarker
}

const EOF = ''

/** Produces the items of a template one at a time, as Go's lexer does when driven by its parser. */
export class Lexer {
  private pos = 0
  private start = 0
  private readonly newlines: number[] = []
  private parenDepth = 0
  private insideAction = false
  private readonly queue: Item[] = []
  private state: (() => void) | null = () => this.lexText()

  constructor (private readonly input: string) {
    for (let i = 0; i < input.length; i++) if (input.charCodeAt(i) === 10) this.newlines.push(i)
  }

  /** The 1-based line holding the character at `pos`. */
  lineAt (pos: number): number {
    let lo = 0
    let hi = this.newlines.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.newlines[mid]! < pos) lo = mid + 1
      else hi = mid
    }
    return lo + 1
  }

  nextItem (): Item {
    while (this.queue.length === 0) {
      if (this.state === null) return { typ: ItemType.EOF, pos: this.pos, val: '', line: this.lineAt(this.pos) }
      this.state()
    }
    return this.queue.shift()!
  }

  private next (): string {
    if (this.pos >= this.input.length) return EOF
    const cp = this.input.codePointAt(this.pos)!
    const ch = String.fromCodePoint(cp)
    this.pos += ch.length
    return ch
  }

  private backup (ch: string): void {
    if (ch === EOF) return
    this.pos -= ch.length
  }

  private peek (): string {
    const ch = this.next()
    this.backup(ch)
    return ch
  }

  private emit (typ: ItemType): void {
    this.queue.push({ typ, pos: this.start, val: this.input.slice(this.start, this.pos), line: this.lineAt(this.start) })
    this.ignore()
  }

  private ignore (): void {
    this.start = this.pos
  }

  private errorf (msg: string): void {
    this.queue.push({ typ: ItemType.Error, pos: this.start, val: msg, line: this.lineAt(this.start) })
    this.state = null
  }

  private lexText (): void {
    const x = this.input.indexOf(leftDelim, this.pos)
    if (x >= 0) {
      if (x > this.pos) {
        let end = x
        if (hasLeftTrimMarker(this.input, x + leftDelim.length)) {
          while (end > this.pos && isSpace(this.input[end - 1]!)) end--
        }
        this.pos = end
        if (this.pos > this.start) this.emit(ItemType.Text)
        this.pos = x
        this.ignore()
      }
      this.state = () => this.lexLeftDelim()
      return
    }
    this.pos = this.input.length
    if (this.pos > this.start) this.emit(ItemType.Text)
    this.emit(ItemType.EOF)
    this.state = null
  }

  private atRightDelim (): { delim: boolean, trimSpace: boolean } {
    if (hasRightTrimMarker(this.input, this.pos) && this.input.startsWith(rightDelim, this.pos + trimMarkerLen)) {
      return { delim: true, trimSpace: true }
    }
    if (this.input.startsWith(rightDelim, this.pos)) return { delim: true, trimSpace: false }
    return { delim: false, trimSpace: false }
  }

  private leftTrimLength (at: number): number {
    let n = at
    while (n < this.input.length && isSpace(this.input[n]!)) n++
    return n - at
  }

  private skip (n: number): void {
    this.pos += n
  }

  private lexLeftDelim (): void {
    this.pos += leftDelim.length
    const trimSpace = hasLeftTrimMarker(this.input, this.pos)
    const afterMarker = trimSpace ? trimMarkerLen : 0
    if (this.input.startsWith(leftComment, this.pos + afterMarker)) {
      this.skip(afterMarker)
      this.ignore()
      this.state = () => this.lexComment()
      return
    }
    this.emit(ItemType.LeftDelim)
    this.insideAction = true
    this.skip(afterMarker)
    this.ignore()
    this.parenDepth = 0
    this.state = () => this.lexInsideAction()
  }

  private lexComment (): void {
    this.pos += leftComment.length
    const x = this.input.indexOf(rightComment, this.pos)
    if (x < 0) return this.errorf('unclosed comment')
    this.skip(x + rightComment.length - this.pos)
    const { delim, trimSpace } = this.atRightDelim()
    if (!delim) return this.errorf('comment ends before closing delimiter')
    if (trimSpace) this.skip(trimMarkerLen)
    this.skip(rightDelim.length)
    if (trimSpace) this.skip(this.leftTrimLength(this.pos))
    this.ignore()
    this.state = () => this.lexText()
  }

  private lexRightDelim (): void {
    const { trimSpace } = this.atRightDelim()
    if (trimSpace) {
      this.skip(trimMarkerLen)
      this.ignore()
    }
    this.pos += rightDelim.length
    this.emit(ItemType.RightDelim)
    if (trimSpace) {
      this.skip(this.leftTrimLength(this.pos))
      this.ignore()
    }
    this.insideAction = false
    this.state = () => this.lexText()
  }

  private lexInsideAction (): void {
    const { delim } = this.atRightDelim()
    if (delim) {
      if (this.parenDepth === 0) {
        this.state = () => this.lexRightDelim()
        return
      }
      return this.errorf('unclosed left paren')
    }
    const r = this.next()
    if (r === EOF) return this.errorf('unclosed action')
    if (isSpace(r)) {
      this.backup(r)
      this.state = () => this.lexSpace()
      return
    }
    if (r === '=') return this.emit(ItemType.Assign)
    if (r === ':') {
      if (this.next() !== '=') return this.errorf('expected :=')
      return this.emit(ItemType.Declare)
    }
    if (r === '|') return this.emit(ItemType.Pipe)
    if (r === '"') { this.state = () => this.lexQuote(); return }
    if (r === '`') { this.state = () => this.lexRawQuote(); return }
    if (r === '$') { this.state = () => this.lexFieldOrVariable(ItemType.Variable); return }
    if (r === '\'') { this.state = () => this.lexChar(); return }
    if (r === '.') {
      if (this.pos < this.input.length) {
        const c = this.input[this.pos]!
        if (c < '0' || c > '9') { this.state = () => this.lexFieldOrVariable(ItemType.Field); return }
      }
    }
    if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
      this.backup(r)
      this.state = () => this.lexNumber()
      return
    }
    if (isAlphaNumeric(r)) {
      this.backup(r)
      this.state = () => this.lexIdentifier()
      return
    }
    if (r === '(') {
      this.emit(ItemType.LeftParen)
      this.parenDepth++
      return
    }
    if (r === ')') {
      this.emit(ItemType.RightParen)
      this.parenDepth--
      if (this.parenDepth < 0) return this.errorf('unexpected right paren')
      return
    }
    const cp = r.codePointAt(0)!
    if (cp <= 0x7f && cp >= 0x20 && cp !== 0x7f) return this.emit(ItemType.Char)
    return this.errorf(`unrecognized character in action: ${goRuneU(cp)}`)
  }

  private lexSpace (): void {
    let numSpaces = 0
    while (isSpace(this.peek())) {
      this.next()
      numSpaces++
    }
    if (hasRightTrimMarker(this.input, this.pos - 1) && this.input.startsWith(rightDelim, this.pos - 1 + trimMarkerLen)) {
      this.backup(this.input[this.pos - 1]!)
      if (numSpaces === 1) {
        this.state = () => this.lexInsideAction()
        return
      }
    }
    this.emit(ItemType.Space)
    this.state = () => this.lexInsideAction()
  }

  private lexIdentifier (): void {
    for (;;) {
      const r = this.next()
      if (isAlphaNumeric(r)) continue
      this.backup(r)
      const word = this.input.slice(this.start, this.pos)
      if (!this.atTerminator()) return this.errorf(`bad character ${goRuneU(r.codePointAt(0)!)}`)
      const kw = keywords[word]
      if (kw !== undefined && kw > ItemType.Keyword) this.emit(kw)
      else if (word[0] === '.') this.emit(ItemType.Field)
      else if (word === 'true' || word === 'false') this.emit(ItemType.Bool)
      else this.emit(ItemType.Identifier)
      this.state = () => this.lexInsideAction()
      return
    }
  }

  private lexFieldOrVariable (typ: ItemType): void {
    if (this.atTerminator()) {
      this.emit(typ === ItemType.Variable ? ItemType.Variable : ItemType.Dot)
      this.state = () => this.lexInsideAction()
      return
    }
    let r: string
    for (;;) {
      r = this.next()
      if (!isAlphaNumeric(r)) {
        this.backup(r)
        break
      }
    }
    if (!this.atTerminator()) return this.errorf(`bad character ${goRuneU(r.codePointAt(0) ?? 0)}`)
    this.emit(typ)
    this.state = () => this.lexInsideAction()
  }

  private atTerminator (): boolean {
    const r = this.peek()
    if (r === EOF || isSpace(r)) return true
    if (r === '.' || r === ',' || r === '|' || r === ':' || r === ')' || r === '(') return true
    return this.input.startsWith(rightDelim, this.pos)
  }

  private lexChar (): void {
    for (;;) {
      let r = this.next()
      if (r === '\\') {
        r = this.next()
        if (r !== EOF && r !== '\n') continue
      }
      if (r === EOF || r === '\n') return this.errorf('unterminated character constant')
      if (r === '\'') break
    }
    this.emit(ItemType.CharConstant)
    this.state = () => this.lexInsideAction()
  }

  private lexNumber (): void {
    if (!this.scanNumber()) return this.errorf(`bad number syntax: ${goQuoteSimple(this.input.slice(this.start, this.pos))}`)
    const sign = this.peek()
    if (sign === '+' || sign === '-') {
      // Complex: 1+2i. No spaces, must end in 'i'.
      if (!this.scanNumber() || this.input[this.pos - 1] !== 'i') {
        return this.errorf(`bad number syntax: ${goQuoteSimple(this.input.slice(this.start, this.pos))}`)
      }
      this.emit(ItemType.Complex)
    } else {
      this.emit(ItemType.Number)
    }
    this.state = () => this.lexInsideAction()
  }

  private accept (valid: string): boolean {
    const r = this.next()
    if (r !== EOF && valid.includes(r)) return true
    this.backup(r)
    return false
  }

  private acceptRun (valid: string): void {
    for (;;) {
      const r = this.next()
      if (r === EOF || !valid.includes(r)) {
        this.backup(r)
        return
      }
    }
  }

  private scanNumber (): boolean {
    this.accept('+-')
    let digits = '0123456789_'
    if (this.accept('0')) {
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_'
      else if (this.accept('oO')) digits = '01234567_'
      else if (this.accept('bB')) digits = '01_'
    }
    this.acceptRun(digits)
    if (this.accept('.')) this.acceptRun(digits)
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-')
      this.acceptRun('0123456789_')
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-')
      this.acceptRun('0123456789_')
    }
    this.accept('i')
    const r = this.peek()
    if (r !== EOF && isAlphaNumeric(r)) {
      this.next()
      return false
    }
    return true
  }

  private lexQuote (): void {
    for (;;) {
      let r = this.next()
      if (r === '\\') {
        r = this.next()
        if (r !== EOF && r !== '\n') continue
      }
      if (r === EOF || r === '\n') return this.errorf('unterminated quoted string')
      if (r === '"') break
    }
    this.emit(ItemType.String)
    this.state = () => this.lexInsideAction()
  }

  private lexRawQuote (): void {
    for (;;) {
      const r = this.next()
      if (r === EOF) return this.errorf('unterminated raw quoted string')
      if (r === '`') break
    }
    this.emit(ItemType.RawString)
    this.state = () => this.lexInsideAction()
  }

  get isInsideAction (): boolean { return this.insideAction }
}

/** Go's %#U: U+0023 '#'. */
export function goRuneU (cp: number): string {
  const hex = cp.toString(16).toUpperCase().padStart(4, '0')
  const ch = String.fromCodePoint(cp)
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch) ? `U+${hex} '${ch}'` : `U+${hex}`
}
