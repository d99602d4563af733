// Every real module template of the corpus LILYPAD_TEMPLATE_CORPUS names, with several input sets. The expected
// output comes from a reference expansion written directly from Go's rules for the constructs these
// templates use (fields, if/else, js, subst, printf), independent of the renderer's lexer, parser
// and executor; templates that Go rejects while parsing are listed with the reason Go gives.
import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TEMPLATE_CORPUS } from '../../../support/template-corpus.ts'
import { renderModuleTemplate, ModuleJsonError, TemplateExecError, TemplateParseError } from '../../../../src/executor/template/index.ts'

const fixtureDir = TEMPLATE_CORPUS ?? ''
const fixtures = TEMPLATE_CORPUS === undefined ? [] : readdirSync(fixtureDir).filter(f => f.endsWith('.tmpl')).sort()

// Go's json.Marshal of a string: JSON.stringify's escapes, plus Go's HTML-safe and line-separator ones.
function goJson (s: string): string {
  return JSON.stringify(s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'))
    .replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
}

// text/template's JSEscapeString for the characters JSON-encoded text can contain.
function goJs (s: string): string {
  const table: Record<string, string> = { '\\': '\\\\', '\'': '\\\'', '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D' }
  return [...s].map(c => table[c] ?? c).join('')
}

class Unsupported extends Error {}
class MissingSubstArg extends Error {}

/** Expands the subset of Go templates that the fixtures use; throws Unsupported for anything else. */
function reference (text: string, inputs: Record<string, string>): string {
  const value = (name: string): string | undefined => (name in inputs ? goJson(inputs[name]!) : undefined)
  const parts = text.split(/\{\{\s*(.*?)\s*\}\}/s)
  const out: string[] = []
  const stack: Array<{ active: boolean, taken: boolean }> = []
  const active = (): boolean => stack.every(f => f.active)
  parts.forEach((part, i) => {
    if (i % 2 === 0) {
      if (active()) out.push(part)
      return
    }
    let m: RegExpExecArray | null
    if ((m = /^if \.(\w+)$/.exec(part))) {
      const truth = value(m[1]!) !== undefined // a JSON-encoded string is never empty
      stack.push({ active: truth, taken: truth })
    } else if (part === 'else') {
      const top = stack[stack.length - 1]!
      top.active = !top.taken
    } else if (part === 'end') {
      stack.pop()
    } else if (!active()) {
      // skipped branch
    } else if ((m = /^\.(\w+)$/.exec(part))) {
      out.push(value(m[1]!) ?? '<no value>')
    } else if ((m = /^js \.(\w+)$/.exec(part)) || (m = /^\.(\w+) \| js$/.exec(part))) {
      out.push(goJs(value(m[1]!) ?? '<no value>'))
    } else if ((m = /^(?:subst|printf) "([^"%\\]*)%s([^"%\\]*)" \.(\w+)$/.exec(part))) {
      const v = value(m[3]!)
      if (v === undefined) {
        if (part.startsWith('subst')) throw new MissingSubstArg()
        out.push(`${m[1]}%!s(<nil>)${m[2]}`)
      } else {
        out.push(m[1] + (part.startsWith('subst') ? JSON.parse(v) as string : v) + m[2])
      }
    } else {
      throw new Unsupported(part)
    }
  })
  return out.join('')
}

// Templates Go's parser rejects, and why (the first action it cannot parse).
const parseFailures: Record<string, { message: RegExp, firstLineWith: string }> = {
  'DeCenter-AI__compute.decenterai.tmpl': { message: /: invalid syntax$/, firstLineWith: 'ipfs/\\%s' },
  'darts2024__dart-isdxl__default.dart.tmpl': { message: /: function "mul" not defined$/, firstLineWith: '{{ mul' },
  'darts2024__dart-nearai__default.dart.tmpl': { message: /: function "mul" not defined$/, firstLineWith: '{{ mul' },
  'darts2024__dart-sdxl__default.dart.tmpl': { message: /: function "subt" not defined$/, firstLineWith: 'subt' }
}

function referencedInputs (text: string): string[] {
  return [...new Set([...text.matchAll(/\.([A-Za-z_]\w*)/g)].map(m => m[1]!))]
    .filter(name => new RegExp(`\\{\\{[^}]*\\.${name}\\b`).test(text))
}

const tricky = 'q"uote \\back <&> é 日本 \u2028 \u2029 tab\tend'

describe.runIf(TEMPLATE_CORPUS !== undefined)('real module templates render, or fail, as Go renders them', () => {
  it('finds the fixture corpus beside the repository', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(50)
  })

  for (const file of fixtures) {
    const text = readFileSync(resolve(fixtureDir, file), 'utf8')
    const names = referencedInputs(text)
    const inputSets: Array<[string, Record<string, string>]> = [
      ['no inputs', {}],
      ['every referenced input', Object.fromEntries(names.map(n => [n, `value-of-${n}`]))],
      ['inputs with quotes, backslashes, <&>, non-ASCII and U+2028', Object.fromEntries(names.map(n => [n, tricky]))]
    ]
    for (const [label, inputs] of inputSets) {
      it(`${file} with ${label}`, () => {
        const run = (): string => renderModuleTemplate({ name: file, text, inputs })
        const failure = parseFailures[file]
        if (failure) {
          let err: unknown
          try { run() } catch (e) { err = e }
          expect(err).toBeInstanceOf(TemplateParseError)
          expect((err as TemplateParseError).goMessage).toMatch(failure.message)
          const line = text.split('\n').findIndex(l => l.includes(failure.firstLineWith)) + 1
          expect((err as TemplateParseError).position.line).toBe(line)
          return
        }
        let expected: string
        try {
          expected = reference(text, inputs)
        } catch (e) {
          if (e instanceof MissingSubstArg) {
            expect(run).toThrow(TemplateExecError)
            expect(run).toThrow(/invalid value; expected string$/)
            return
          }
          throw e
        }
        let valid = true
        try { JSON.parse(expected) } catch { valid = false }
        if (valid) {
          expect(run()).toBe(expected)
        } else {
          let err: unknown
          try { run() } catch (e) { err = e }
          expect(err).toBeInstanceOf(ModuleJsonError)
          expect((err as ModuleJsonError).rendered).toBe(expected)
          expect((err as ModuleJsonError).message).toContain(file)
          // Go's offset counts bytes up to and including the first byte that cannot continue the JSON.
          const offset = (err as ModuleJsonError).offset
          const bytes = Buffer.from(expected, 'utf8')
          expect(offset).toBeGreaterThan(0)
          expect(offset).toBeLessThanOrEqual(bytes.length)
        }
      })
    }
  }
})
