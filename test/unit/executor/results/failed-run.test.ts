import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SpecMismatchError } from '../../../../src/node/adapters/module-runner.ts'
import { GitFailure } from '../../../../src/executor/modules/git.ts'
import { ModuleError } from '../../../../src/executor/modules/errors.ts'
import { cidOfPath } from '../../../../src/executor/results/cid.ts'
import { ResultsError } from '../../../../src/executor/results/errors.ts'
import { ExecutionError } from '../../../../src/executor/results/execution.ts'
import { FAILURE_CODES, failureCode, RunFailure, writeFailedRun } from '../../../../src/executor/results/failed-run.ts'
import { JOB_FAILURES } from '../../../../src/state-machines/deal-lifecycle.ts'
import { TemplateBudgetError, TemplateParseError } from '../../../../src/executor/template/errors.ts'
import { useTempDirs } from '../../../support/temp-dir.ts'

const tempDir = useTempDirs()
/** what `ipfs add -r` prints for the results of a run refused for its spec hash */
const SPEC_MISMATCH_CID = 'QmaVheGcsWZNoThoAEtcadritUkjtvUeEob9m7EBAb7Pn7'

async function failedRunCid (err: unknown, dir?: string): Promise<string> {
  const written = await writeFailedRun(dir ?? join(await tempDir(), 'results'), failureCode(err))
  return (await cidOfPath(written)).toString()
}

describe('failed-run results', () => {
  it('are Bacalhau\'s layout: empty stdout and outputs/, one line of stderr, exit code 125', async () => {
    const dir = await writeFailedRun(join(await tempDir(), 'results'), 'ERR_SPEC_MISMATCH')
    expect((await readdir(dir)).sort()).toEqual(['exitCode', 'outputs', 'stderr', 'stdout'])
    expect(await readFile(join(dir, 'stdout'), 'utf8')).toBe('')
    expect(await readFile(join(dir, 'stderr'), 'utf8')).toBe('lilypad: job could not run: ERR_SPEC_MISMATCH\n')
    expect(await readFile(join(dir, 'exitCode'), 'utf8')).toBe('125')
    expect(await readdir(join(dir, 'outputs'))).toEqual([])
  })

  it('have a CID that is part of the protocol: it must not change between versions', async () => {
    const dir = await writeFailedRun(join(await tempDir(), 'results'), 'ERR_SPEC_MISMATCH')
    expect((await cidOfPath(dir)).toString()).toBe(SPEC_MISMATCH_CID)
  })

  it('give the same CID for the same failure, whatever the message, paths or machine', async () => {
    const a = new SpecMismatchError('module /home/alice/cowsay@a1b2 renders to spec 0x11, the offer says 0x22')
    const b = new SpecMismatchError('module /srv/lilypad/mirror/cowsay@a1b2 renders to spec 0x33, the offer says 0x44')
    expect(await failedRunCid(a)).toBe(await failedRunCid(b))
    const missing = new ExecutionError('IMAGE_NOT_FOUND', 'image sha256:aa is not present in the local Docker engine on host-a')
    const unpullable = new ExecutionError('IMAGE_PULL_FAILED', 'image r.example/x@sha256:bb could not be pulled: connect ECONNREFUSED 10.0.0.7:443')
    expect(await failedRunCid(missing)).toBe(await failedRunCid(unpullable))
  })

  it('replace whatever a run left in the folder', async () => {
    const dir = join(await tempDir(), 'results')
    await mkdir(join(dir, 'outputs'), { recursive: true })
    await writeFile(join(dir, 'stdout'), 'half a run\n')
    await symlink('/etc/passwd', join(dir, 'outputs', 'link'))
    expect(await failedRunCid(new ResultsError('RESULTS_UNSUPPORTED_ENTRY', `${dir}/outputs/link is a link`), dir))
      .toBe(await failedRunCid(new ResultsError('RESULTS_UNSUPPORTED_ENTRY', 'another path')))
  })

  it('give a different CID for each failure code', async () => {
    const cids = new Set<string>()
    for (const code of FAILURE_CODES) cids.add(await failedRunCid(new RunFailure(code, 'why')))
    expect(cids.size).toBe(FAILURE_CODES.length)
  })
})

describe('failure codes', () => {
  it('that a re-run takes as the job\'s own, and so as able to judge results, are failure codes', () => {
    expect(JOB_FAILURES.filter(code => !(FAILURE_CODES as readonly string[]).includes(code))).toEqual([])
  })

  it('classify the errors of the module loader, the renderer, the executors and the results layer', () => {
    const cases: Array<[unknown, string]> = [
      [new RunFailure('ERR_TIMEOUT_TOO_LONG', 'too long'), 'ERR_TIMEOUT_TOO_LONG'],
      [new SpecMismatchError('x'), 'ERR_SPEC_MISMATCH'],
      [new ModuleError('MODULE_REPO_NOT_FOUND', 'x'), 'ERR_MODULE_UNAVAILABLE'],
      [new ModuleError('MODULE_REF_NOT_FOUND', 'x'), 'ERR_MODULE_UNAVAILABLE'],
      [new ModuleError('MODULE_SOURCE_REFUSED', 'x'), 'ERR_MODULE_UNAVAILABLE'],
      [new ModuleError('MODULE_REPO_TOO_LARGE', 'x'), 'ERR_MODULE_UNAVAILABLE'],
      [new GitFailure(['fetch'], 'fatal: unable to access', 128), 'ERR_MODULE_UNAVAILABLE'],
      [new ExecutionError('WASM_MODULE_NOT_FOUND', 'x'), 'ERR_MODULE_UNAVAILABLE'],
      [new ModuleError('MODULE_SPEC_INVALID', 'x'), 'ERR_MODULE_INVALID'],
      [new TemplateParseError('x', 't', { line: 1, column: 0 }, 'x'), 'ERR_MODULE_INVALID'],
      [new TemplateBudgetError('steps', 't', 'x'), 'ERR_MODULE_INVALID'],
      [new ExecutionError('BAD_JOB_SPEC', 'x'), 'ERR_MODULE_INVALID'],
      [new ExecutionError('IMAGE_NOT_PINNED', 'x'), 'ERR_IMAGE_NOT_PINNED'],
      [new ExecutionError('IMAGE_NOT_FOUND', 'x'), 'ERR_IMAGE_UNAVAILABLE'],
      [new ExecutionError('IMAGE_PULL_FAILED', 'x'), 'ERR_IMAGE_UNAVAILABLE'],
      [new ExecutionError('DOCKER_UNAVAILABLE', 'x'), 'ERR_ENGINE_UNAVAILABLE'],
      [new ExecutionError('WASM_UNAVAILABLE', 'x'), 'ERR_ENGINE_UNAVAILABLE'],
      [new ResultsError('RESULTS_UNSUPPORTED_ENTRY', 'x'), 'ERR_OUTPUTS_REFUSED'],
      [new ExecutionError('EXECUTION_FAILED', 'x'), 'ERR_EXECUTION_FAILED']
    ]
    for (const [err, code] of cases) expect([String(err), failureCode(err)]).toEqual([String(err), code])
  })

  it('give anything else the generic code', () => {
    expect(failureCode(new Error('ENOSPC'))).toBe('ERR_RUN_FAILED')
    expect(failureCode(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe('ERR_RUN_FAILED')
    expect(failureCode('a string')).toBe('ERR_RUN_FAILED')
    expect(failureCode(undefined)).toBe('ERR_RUN_FAILED')
  })
})
