// `lilypad module render` as a user runs it: JSON on stdout and exit 0, or one line on stderr and exit 1.
import { execFile } from 'node:child_process'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
const fixtureDir = resolve(repoRoot, '../shared/fixtures/modules')

function lilypad (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(done => {
    execFile(process.execPath, [resolve(repoRoot, 'bin/lilypad.js'), ...args], { cwd: repoRoot }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })
    })
  })
}

describe('lilypad module render', () => {
  it('prints the rendered module as JSON', async () => {
    const r = await lilypad('module', 'render', resolve(fixtureDir, 'Lilypad-Tech__lilypad-module-cowsay.tmpl'), '-i', 'Message=<moo> "x"')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).job.Spec.Docker.Entrypoint).toEqual(['/usr/local/bin/cowsay', '<moo> "x"'])
  })

  it('reports a template Go cannot parse on stderr with a non-zero exit', async () => {
    const r = await lilypad('module', 'render', resolve(fixtureDir, 'darts2024__dart-sdxl__default.dart.tmpl'))
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/function "subt" not defined/)
  })

  it('reports rendered text that is not JSON, with its position', async () => {
    const r = await lilypad('module', 'render', resolve(fixtureDir, 'Lilypad-Tech__lilypad-module-duckdb.tmpl'), '-i', 'Query=x', '-i', 'InputsCID=y')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/not valid JSON: invalid character '}' looking for beginning of object key string \(offset \d+, line \d+, column \d+\)/)
  })
})
