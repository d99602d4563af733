// `lilypad module render` as a user runs it: JSON on stdout and exit 0, or one line on stderr and exit 1.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cowsayTemplate } from '../../../support/template-corpus.ts'

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
let fixtureDir: string

// the demo's cowsay template; a template calling a function Go does not have; one that renders to
// text with a trailing comma in an object
beforeAll(() => {
  fixtureDir = mkdtempSync(join(tmpdir(), 'lilypad-render-'))
  writeFileSync(join(fixtureDir, 'cowsay.tmpl'), cowsayTemplate())
  writeFileSync(join(fixtureDir, 'unknown-function.tmpl'), '{"job": {{subt 1 2}}}\n')
  writeFileSync(join(fixtureDir, 'not-json.tmpl'), '{\n  "machine": {"gpu": 0},\n  "job": {"Query": {{.Query}}, }\n}\n')
})
afterAll(() => { rmSync(fixtureDir, { recursive: true, force: true }) })

function lilypad (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(done => {
    execFile(process.execPath, [resolve(repoRoot, 'bin/lilypad.js'), ...args], { cwd: repoRoot }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
    })
  })
}

describe('lilypad module render', () => {
  it('prints the rendered module as JSON', async () => {
    const r = await lilypad('module', 'render', join(fixtureDir, 'cowsay.tmpl'), '-i', 'Message=<moo> "x"')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).job.Spec.Docker.Entrypoint).toEqual(['/usr/local/bin/cowsay', '<moo> "x"'])
  })

  it('reports a template Go cannot parse on stderr with a non-zero exit', async () => {
    const r = await lilypad('module', 'render', join(fixtureDir, 'unknown-function.tmpl'))
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/function "subt" not defined/)
  })

  it('reports rendered text that is not JSON, with its position', async () => {
    const r = await lilypad('module', 'render', join(fixtureDir, 'not-json.tmpl'), '-i', 'Query=x')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/not valid JSON: invalid character '}' looking for beginning of object key string \(offset \d+, line \d+, column \d+\)/)
  })
})
