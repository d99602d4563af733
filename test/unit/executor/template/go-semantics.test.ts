// Go text/template semantics, case by case. Each expected value follows from Go's documentation and
// source (text/template, fmt, encoding/json), with the data a map[string]string of JSON-encoded inputs.
import { describe, expect, it } from 'vitest'
import { executeModuleTemplate, parseModuleTemplate, TemplateExecError, TemplateParseError } from '../../../../src/executor/template/index.ts'

function render (text: string, inputs: Record<string, string> = {}): string {
  return executeModuleTemplate(parseModuleTemplate('t', text), inputs)
}

function renderError (text: string, inputs: Record<string, string> = {}): Error {
  try {
    render(text, inputs)
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an error')
}

describe('data: a map[string]string of JSON-encoded inputs', () => {
  it('prints an input as its JSON encoding, quotes included', () => {
    expect(render('{{.Message}}', { Message: 'moo' })).toBe('"moo"')
  })
  it('prints <no value> for a missing key (missingkey=default)', () => {
    expect(render('[{{.Nope}}]')).toBe('[<no value>]')
  })
  it('treats a missing key as false and an empty input as true (its encoding "" is not empty)', () => {
    expect(render('{{if .Nope}}y{{else}}n{{end}}')).toBe('n')
    expect(render('{{if .E}}y{{else}}n{{end}}', { E: '' })).toBe('y')
  })
  it('gives the zero value "" for a missing key through index, unlike a field', () => {
    expect(render('[{{index . "Nope"}}]')).toBe('[]')
    expect(render('{{index . "A"}}', { A: 'x' })).toBe('"x"')
  })
  it('prints the map itself with sorted keys', () => {
    expect(render('{{.}}', { b: '2', a: '1' })).toBe('map[a:"1" b:"2"]')
  })
  it('walks a field of a missing value to no value, and cannot take a field of a string', () => {
    expect(render('{{.A.B}}')).toBe('<no value>')
    expect(renderError('{{.A.B}}', { A: 'x' }).message).toBe('template: t:1:4: executing "t" at <.A.B>: can\'t evaluate field B in type string')
  })
})

describe('actions and control structures', () => {
  it('keeps text as is and drops comments', () => {
    expect(render('a{{/* note */}}b')).toBe('ab')
  })
  it('trims spaces and newlines next to {{- and -}}', () => {
    expect(render('a  \n {{- "x" -}} \n\t b')).toBe('axb')
    expect(render('a {{- /* c */ -}} b')).toBe('ab')
  })
  it('chains else if and else with', () => {
    const t = '{{if .A}}a{{else if .B}}b{{else}}c{{end}}'
    expect(render(t, { A: '1' })).toBe('a')
    expect(render(t, { B: '1' })).toBe('b')
    expect(render(t)).toBe('c')
    expect(render('{{with .A}}{{.}}{{else with .B}}B{{.}}{{else}}none{{end}}', { B: 'q' })).toBe('B"q"')
  })
  it('sets dot in with', () => {
    expect(render('{{with .A}}[{{.}}]{{end}}', { A: 'v' })).toBe('["v"]')
    expect(render('{{with .A}}[{{.}}]{{end}}')).toBe('')
  })
  it('ranges over the map in key order with $k, $v, and over an int', () => {
    expect(render('{{range $k, $v := .}}{{$k}}={{$v}};{{end}}', { z: '1', a: '2' })).toBe('a="2";z="1";')
    expect(render('{{range $i := 3}}{{$i}}{{end}}')).toBe('012')
    expect(render('{{range .}}x{{else}}empty{{end}}')).toBe('empty')
  })
  it('supports break and continue in range', () => {
    expect(render('{{range $i := 5}}{{if eq $i 1}}{{continue}}{{end}}{{if eq $i 3}}{{break}}{{end}}{{$i}}{{end}}')).toBe('02')
  })
  it('declares and assigns variables, scoped to their block', () => {
    expect(render('{{$x := "a"}}{{if true}}{{$x = "b"}}{{$y := 1}}{{end}}{{$x}}')).toBe('b')
    expect(renderError('{{if true}}{{$y := 1}}{{end}}{{$y}}')).toBeInstanceOf(TemplateParseError)
    expect(render('{{$}}', { k: 'v' })).toBe('map[k:"v"]')
  })
  it('defines and invokes templates, and blocks', () => {
    expect(render('{{define "T"}}<{{.}}>{{end}}{{template "T" .A}}', { A: 'a' })).toBe('<"a">')
    expect(render('{{block "B" "x"}}[{{.}}]{{end}}')).toBe('[x]')
  })
})

describe('functions', () => {
  it('and/or return the deciding argument and short-circuit', () => {
    expect(render('{{or .Nope "dflt"}}')).toBe('dflt')
    expect(render('{{or .A "dflt"}}', { A: 'a' })).toBe('"a"')
    expect(render('{{and .A .B}}', { A: 'a' })).toBe('<no value>')
    expect(render('{{and 1 0 (len .Nope)}}')).toBe('0') // len of nothing would fail: not evaluated
    expect(render('{{or 0 ""}}')).toBe('')
  })
  it('not, and the comparisons', () => {
    expect(render('{{not .Nope}} {{not "x"}}')).toBe('true false')
    expect(render('{{eq .A `"x"`}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1.5 2.5}}', { A: 'x' })).toBe('true true true true true false')
    expect(render('{{eq 1 2 3 1}}')).toBe('true')
    expect(render('{{eq .Nope "cpu"}}')).toBe('false')
    expect(renderError('{{lt 1 "a"}}').message).toBe('template: t:1:2: executing "t" at <lt 1 "a">: error calling lt: incompatible types for comparison')
    expect(renderError('{{lt .Nope 1}}').message).toContain('error calling lt: invalid type for comparison')
  })
  it('len counts bytes; len of a missing value fails as Go\'s reflect does', () => {
    expect(render('{{len .A}}', { A: 'é' })).toBe('4') // "é" JSON-encoded: 2 quote bytes + 2 UTF-8 bytes
    expect(render('{{len .}}', { a: '1', b: '2' })).toBe('2')
    expect(renderError('{{len .Nope}}').message).toBe('template: t:1:2: executing "t" at <len .Nope>: error calling len: reflect: call of reflect.Value.Type on zero Value')
  })
  it('index of a string gives a byte; slice of a string gives bytes', () => {
    expect(render('{{index "hello" 1}}')).toBe('101')
    expect(render('{{slice "hello" 1 3}}')).toBe('el')
  })
  it('print, printf and println format as fmt does', () => {
    expect(render('{{print 1 2 "a" "b" 3}}')).toBe('1 2ab3')
    expect(render('{{println "a" 1}}')).toBe('a 1\n')
    expect(render('{{printf "%s|%q|%d|%v|%x|%t|%5s|%-4d|%05d|%.2s" "str" "q\\"" 42 true "hi" false "ab" 7 -42 "héllo"}}'))
      .toBe('str|"q\\""|42|true|6869|false|   ab|7   |-0042|hé')
    expect(render('{{printf "%d" "x"}}')).toBe('%!d(string=x)')
    expect(render('{{printf "%s %s" "a"}}')).toBe('a %!s(MISSING)')
    expect(render('{{printf "%s" "a" 1}}')).toBe('a%!(EXTRA int=1)')
    expect(render('{{printf "%v %s" .Nope .Nope}}')).toBe('<nil> %!s(<nil>)')
    expect(render('{{printf "%X %o %b %c %U %#x" 255 8 5 65 65 255}}')).toBe('FF 10 101 A U+0041 0xff')
    expect(render('{{printf "%v %g %e %.2f" 1.5 1e6 1234.5678 3.14159}}')).toBe('1.5 1e+06 1.234568e+03 3.14')
    expect(render('{{print 1e6 0.000001 100000.0}}')).toBe('1e+06 1e-06 100000')
  })
  it('js, html and urlquery escape as Go does', () => {
    expect(render('{{js .A}}', { A: 'a\'b<c>&=\u2028' })).toBe('\\"a\\\'b\\\\u003cc\\\\u003e\\\\u0026\\u003D\\\\u2028\\"')
    expect(render('{{js "<&>\\n"}}')).toBe('\\u003C\\u0026\\u003E\\u000A')
    expect(render('{{js .Nope}}')).toBe('\\u003Cno value\\u003E')
    expect(render('{{html "<a href=\'x\'>&\\""}}')).toBe('&lt;a href=&#39;x&#39;&gt;&amp;&#34;')
    expect(render('{{urlquery "a b&c/é~"}}')).toBe('a+b%26c%2F%C3%A9~')
  })
  it('pipes the previous value in as the last argument, and evaluates parenthesised pipelines', () => {
    expect(render('{{.A | printf "%s-%s" "x"}}', { A: 'a' })).toBe('x-"a"')
    expect(render('{{printf "%d" (len (printf "%s%s" "ab" "c"))}}')).toBe('3')
    expect(render('{{"a" | printf "%s!" | printf "[%s]"}}')).toBe('[a!]')
  })
  it('subst decodes its JSON-encoded arguments and formats them', () => {
    expect(render('{{subst "MESSAGE=%s" .M}}', { M: 'a "b" <c>' })).toBe('MESSAGE=a "b" <c>')
    expect(render('{{subst "%s/%s" .A .B}}', { A: '1', B: '2' })).toBe('1/2')
    expect(render('{{subst "%s" "null"}}')).toBe('')
  })
})

describe('errors, worded as Go words them', () => {
  it('rejects an unknown function at parse time with its line', () => {
    const err = renderError('{\n  "a": {{ mul 1 2 }}\n}')
    expect(err).toBeInstanceOf(TemplateParseError)
    expect((err as TemplateParseError).goMessage).toBe('template: t:2: function "mul" not defined')
    expect(err.message).toBe('template: t:2:10: function "mul" not defined')
    expect((err as TemplateParseError).position).toEqual({ line: 2, column: 10 })
  })
  it('reports syntax errors', () => {
    const cases: Array<[string, string]> = [
      ['{{if .A}}x', 'template: t:1: unexpected EOF'],
      ['x {{.A', 'template: t:1: unclosed action'],
      ['{{end}}', 'template: t:1: unexpected {{end}}'],
      ['{{$x}}', 'template: t:1: undefined variable "$x"'],
      ['{{"a\\%"}}', 'template: t:1: invalid syntax'],
      ['{{.A "b",}}', 'template: t:1: unexpected "," in operand'],
      ['{{break}}', 'template: t:1: {{break}} outside {{range}}'],
      ['{{3x}}', 'template: t:1: bad number syntax: "3x"'],
      ['{{/* x */ y}}', 'template: t:1: comment ends before closing delimiter'],
      ['{{(1}}', 'template: t:1: unclosed left paren'],
      ['{{.A | 1}}', 'template: t:1: non executable command in pipeline stage 2'],
      ['a\n{{if\n.A', 'template: t:3: unclosed action started at t:2']
    ]
    for (const [text, goMessage] of cases) {
      const err = renderError(text)
      expect(err, text).toBeInstanceOf(TemplateParseError)
      expect((err as TemplateParseError).goMessage, text).toBe(goMessage)
    }
  })
  it('reports execution errors with line, column and the failing node', () => {
    const err = renderError('{\n  "env": "{{ subst "X=%s" .Nope }}"\n}')
    expect(err).toBeInstanceOf(TemplateExecError)
    expect(err.message).toBe('template: t:2:26: executing "t" at <.Nope>: invalid value; expected string')
    expect(renderError('{{subst "%s" "not json"}}').message).toBe('template: t:1:2: executing "t" at <subst "%s" "not json">: error calling subst: subst: invalid input')
    expect(renderError('{{printf 3}}').message).toBe('template: t:1:9: executing "t" at <3>: expected string; found 3')
    expect(renderError('{{.A 1}}', { A: 'x' }).message).toBe('template: t:1:2: executing "t" at <.A>: A is not a method but has arguments')
    expect(renderError('{{len}}').message).toBe('template: t:1:2: executing "t" at <len>: wrong number of args for len: want 1 got 0')
    expect(renderError('{{range .A}}{{end}}', { A: 'x' }).message).toBe('template: t:1:8: executing "t" at <.A>: range can\'t iterate over "x"')
  })
})
