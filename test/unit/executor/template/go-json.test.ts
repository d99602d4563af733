// encoding/json as the renderer uses it: json.Marshal of inputs, and json.Unmarshal's syntax errors.
import { describe, expect, it } from 'vitest'
import { checkGoJson, marshalGoString } from '../../../../src/executor/template/go-json.ts'

describe('json.Marshal of a string', () => {
  it('escapes as Go 1.22+ does (HTML-safe, line separators, short \\b and \\f)', () => {
    expect(marshalGoString('moo')).toBe('"moo"')
    expect(marshalGoString('a"b\\c')).toBe('"a\\"b\\\\c"')
    expect(marshalGoString('<&>')).toBe('"\\u003c\\u0026\\u003e"')
    expect(marshalGoString('\u2028\u2029')).toBe('"\\u2028\\u2029"')
    expect(marshalGoString('\b\f\n\r\t\x01\x1f\x7f')).toBe('"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f"')
    expect(marshalGoString('é日本😀')).toBe('"é日本😀"')
    expect(marshalGoString('x\ud800y')).toBe('"x\\ufffdy"')
  })
})

describe('json.Unmarshal syntax errors', () => {
  const cases: Array<[string, string, number]> = [
    ['{"a":1,}', 'invalid character \'}\' looking for beginning of object key string', 8],
    ['[1,]', 'invalid character \']\' looking for beginning of value', 4],
    ['{"a" 1}', 'invalid character \'1\' after object key', 6],
    ['{"a":1 "b"}', 'invalid character \'"\' after object key:value pair', 8],
    ['[<no value>]', 'invalid character \'<\' looking for beginning of value', 2],
    ['[1 2]', 'invalid character \'2\' after array element', 4],
    ['{"a":1}}', 'invalid character \'}\' after top-level value', 8],
    ['{"a":', 'unexpected end of JSON input', 5],
    ['"a\x01"', 'invalid character \'\\x01\' in string literal', 3],
    ['"\\q"', 'invalid character \'q\' in string escape code', 3],
    ['"\\u12x4"', 'invalid character \'x\' in \\u hexadecimal character escape', 6],
    ['01', 'invalid character \'1\' after top-level value', 2],
    ['1.e5', 'invalid character \'e\' after decimal point in numeric literal', 3],
    ['nul!', 'invalid character \'!\' in literal null (expecting \'l\')', 4],
    ['tru', 'invalid character \' \' in literal true (expecting \'e\')', 3],
    ['-', 'invalid character \' \' in numeric literal', 1]
  ]
  for (const [text, message, offset] of cases) {
    it(`${JSON.stringify(text)}: ${message}`, () => {
      expect(checkGoJson(Buffer.from(text))).toEqual({ message, offset })
    })
  }
  it('accepts valid JSON', () => {
    for (const text of ['{}', ' [1, -0.5e+3, "x", true, false, null, {"a": [{}]}] ', '0', '"\\u00e9"']) {
      expect(checkGoJson(Buffer.from(text)), text).toBeNull()
    }
  })
})
