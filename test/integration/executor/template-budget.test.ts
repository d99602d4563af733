// Rendering in the budgeted worker: a runaway template fails fast with a clear error and leaves the
// process responsive, every time it is loaded (as after a restart), and good templates render alike.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadModule } from '../../../src/executor/modules/load.ts'
import { failureCode } from '../../../src/executor/results/failed-run.ts'
import {
  renderModuleTemplate, renderModuleTemplateBudgeted, TemplateBudgetError, TemplateParseError, TemplateExecError, ModuleJsonError, TemplateRenderer
} from '../../../src/executor/template/index.ts'
import { createModuleRepo, MODULES_DIR } from '../../support/modules.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const RANGE_BOMB = '{{range 9223372036854775807}}{{end}}'
const renderers: TemplateRenderer[] = []
afterAll(() => { for (const r of renderers) r.close() })

function renderer (budget: ConstructorParameters<typeof TemplateRenderer>[0]): TemplateRenderer {
  const r = new TemplateRenderer(budget)
  renderers.push(r)
  return r
}

/** How many 10 ms ticks the main thread ran while `work` was pending. */
async function ticksDuring (work: Promise<unknown>): Promise<number> {
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 10)
  await work.catch(() => undefined)
  clearInterval(timer)
  return ticks
}

describe('the budgeted renderer', () => {
  it('renders the cowsay module exactly as the synchronous renderer does', async () => {
    const text = await readFile(join(MODULES_DIR, 'cowsay', 'lilypad_module.json.tmpl'), 'utf8')
    const opts = { name: 'cowsay', text, inputs: { Message: 'moo "quoted" €' } }
    expect(await renderModuleTemplateBudgeted(opts)).toBe(renderModuleTemplate(opts))
  })

  it('fails a range bomb fast on its step budget while the main thread keeps running, then renders again', async () => {
    await renderModuleTemplateBudgeted({ name: 'warm', text: '{}' })
    const started = Date.now()
    const bomb = renderModuleTemplateBudgeted({ name: 'bomb', text: RANGE_BOMB })
    const ticks = await ticksDuring(bomb)
    const err = await bomb.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TemplateBudgetError)
    expect(err).toMatchObject({ code: 'TEMPLATE_BUDGET_EXCEEDED', budget: 'steps', message: 'template: bomb: rendering exceeded its steps budget (more than 1000000 steps)' })
    expect(Date.now() - started).toBeLessThan(3000)
    expect(ticks).toBeGreaterThan(0)
    expect(await renderModuleTemplateBudgeted({ name: 'after', text: '{"ok":{{.A}}}', inputs: { A: 'yes' } })).toBe('{"ok":"yes"}')
  })

  it('terminates a render past its time budget, keeps the main thread running, and starts a fresh renderer', async () => {
    const r = renderer({ maxSteps: Number.MAX_SAFE_INTEGER, timeMs: 500 })
    await r.render({ name: 'warm', text: '{}' })
    const started = Date.now()
    const bomb = r.render({ name: 'slow', text: RANGE_BOMB })
    const ticks = await ticksDuring(bomb)
    expect(await bomb.catch((e: unknown) => e)).toMatchObject({ code: 'TEMPLATE_BUDGET_EXCEEDED', budget: 'time', message: 'template: slow: rendering exceeded its time budget (more than 500 ms)' })
    const took = Date.now() - started
    expect(took).toBeGreaterThanOrEqual(500)
    expect(took).toBeLessThan(3000)
    // a busy main thread would have run none of the ~50 ticks
    expect(ticks).toBeGreaterThan(10)
    expect(await r.render({ name: 'next', text: '[1]' })).toBe('[1]')
  })

  it('terminates a render past its memory budget', async () => {
    const r = renderer({ maxSteps: Number.MAX_SAFE_INTEGER, maxOutputBytes: Number.MAX_SAFE_INTEGER, timeMs: 30_000, memoryMb: 64 })
    const err = await r.render({ name: 'hog', text: '{{range 9223372036854775807}}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{end}}' }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'TEMPLATE_BUDGET_EXCEEDED', budget: 'memory', message: 'template: hog: rendering exceeded its memory budget (more than 64 MB of heap)' })
    expect(await r.render({ name: 'next', text: '{}' })).toBe('{}')
  })

  it('queues renders and answers each its own', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      renderModuleTemplateBudgeted({ name: `t${i}`, text: i % 5 === 0 ? RANGE_BOMB : '{"i":{{.I}}}', inputs: { I: String(i) } }).catch((e: Error) => e.constructor.name)))
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i % 5 === 0 ? 'TemplateBudgetError' : `{"i":"${i}"}`))
  })

  it('gives the synchronous renderer\'s errors, class, code, position and message alike', async () => {
    for (const text of ['{{.Foo', '{{template "nope"}}', '{"a": 1,}']) {
      let expected: unknown
      try { renderModuleTemplate({ name: 'e', text }) } catch (err) { expected = err }
      const got = await renderModuleTemplateBudgeted({ name: 'e', text }).catch((e: unknown) => e)
      expect(got).toBeInstanceOf((expected as object).constructor)
      expect(got).toMatchObject({ code: (expected as TemplateParseError).code, message: (expected as Error).message, position: (expected as TemplateParseError).position })
    }
    expect(await renderModuleTemplateBudgeted({ name: 'e', text: '{{.Foo' }).catch((e: unknown) => e)).toBeInstanceOf(TemplateParseError)
    expect(await renderModuleTemplateBudgeted({ name: 'e', text: '{{template "nope"}}' }).catch((e: unknown) => e)).toBeInstanceOf(TemplateExecError)
    expect(await renderModuleTemplateBudgeted({ name: 'e', text: '{"a": 1,}' }).catch((e: unknown) => e)).toBeInstanceOf(ModuleJsonError)
  })
})

describe('loading a module whose template is a range bomb', () => {
  it('fails fast with the budget error on every load, as a restarted node replaying it would', async () => {
    const into = join(await tempDir(), 'bomb')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(into)
    const repo = await createModuleRepo('cowsay', { into, files: { 'lilypad_module.json.tmpl': `{"job":${RANGE_BOMB}}` } })
    const cacheDir = join(await tempDir(), 'modules')
    for (let load = 0; load < 2; load++) {
      const started = Date.now()
      const err = await loadModule({ ref: `${repo.path}:${repo.commit}`, cacheDir, allowedSchemes: ['file'] }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(TemplateBudgetError)
      expect((err as Error).message).toBe(`template: ${repo.path}-lilypad_module.json.tmpl-${repo.commit}: rendering exceeded its steps budget (more than 1000000 steps)`)
      expect(failureCode(err)).toBe('ERR_MODULE_INVALID')
      expect(Date.now() - started).toBeLessThan(5000)
    }
  })
})
