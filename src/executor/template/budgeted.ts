// Renders templates off the main thread, in one long-lived child process, with budgets on steps and
// output (counted alike everywhere) and on wall-clock time and heap (the process is killed past them).
import { fork, type ChildProcess } from 'node:child_process'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { ModuleJsonError, TemplateBudgetError, TemplateError, TemplateExecError, TemplateParseError, type TemplateBudget } from './errors.ts'
import type { RenderLimits, RenderOptions } from './index.ts'

export interface RenderBudget extends Required<RenderLimits> {
  /** Wall-clock time of one render, from when the renderer takes it. */
  timeMs: number
  /** Heap of the renderer's process (old generation). */
  memoryMb: number
}

/**
 * Real templates take a few hundred steps and a few kilobytes; a million steps takes about 0.1 s,
 * far inside the time budget even on a slow machine, so the step budget (the same on every
 * machine) is what a runaway template meets first.
 */
export const DEFAULT_RENDER_BUDGET: RenderBudget = {
  maxSteps: 1_000_000,
  maxOutputBytes: 1024 * 1024,
  timeMs: 5_000,
  memoryMb: 128
}

/** How long the renderer may take to start (it loads the TypeScript loader and the renderer). */
const START_TIMEOUT_MS = 60_000
const RENDERER = fileURLToPath(new URL('./render-process.mjs', import.meta.url))

interface SerializedError {
  code?: string
  name?: string
  message: string
  templateName?: string
  position?: { line: number, column: number }
  goMessage?: string
  offset?: number
  rendered?: string
  budget?: TemplateBudget
}

type Reply = { id: number, rendered: string } | { id: number, error: SerializedError }

interface Pending {
  id: number
  opts: RenderOptions
  resolve: (text: string) => void
  reject: (err: Error) => void
}

/** A renderer process and its queue: renders run one at a time, in order. */
export class TemplateRenderer {
  private readonly budget: RenderBudget
  private child: ChildProcess | null = null
  private ready: Promise<ChildProcess> | null = null
  private stderr = ''
  private readonly queue: Pending[] = []
  private running = false
  private nextId = 0
  private closed = false

  constructor (budget: Partial<RenderBudget> = {}) {
    this.budget = { ...DEFAULT_RENDER_BUDGET, ...Object.fromEntries(Object.entries(budget).filter(([, v]) => v !== undefined)) }
  }

  render (opts: RenderOptions): Promise<string> {
    if (this.closed) return Promise.reject(new Error('the template renderer is closed'))
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, opts, resolve, reject })
      void this.drain()
    })
  }

  close (): void {
    this.closed = true
    for (const p of this.queue.splice(0)) p.reject(new Error('the template renderer is closed'))
    if (this.child !== null) this.discard(this.child)
  }

  private async drain (): Promise<void> {
    if (this.running) return
    this.running = true
    try {
      for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
        try {
          job.resolve(await this.renderOne(job))
        } catch (err) {
          job.reject(err as Error)
        }
      }
    } finally {
      this.running = false
      // an idle renderer does not keep the process alive
      if (this.child !== null) hold(this.child, false)
    }
  }

  private start (): Promise<ChildProcess> {
    if (this.ready !== null) return this.ready
    // nothing of this process's environment (its keys among it) reaches the renderer
    const child = fork(RENDERER, [], {
      execArgv: [`--max-old-space-size=${this.budget.memoryMb}`],
      env: { TMPDIR: tmpdir() },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json'
    })
    this.child = child
    this.stderr = ''
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => { this.stderr = (this.stderr + chunk).slice(-4096) })
    const ready = new Promise<ChildProcess>((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('the template renderer did not start')) }, START_TIMEOUT_MS)
      const onExit = (code: number | null, signal: string | null): void => {
        clearTimeout(timer)
        reject(new Error(`the template renderer exited while starting (${signal ?? `code ${code}`}): ${lastLine(this.stderr)}`))
      }
      child.once('error', (err) => { clearTimeout(timer); reject(new Error(`the template renderer could not start: ${err.message}`)) })
      child.once('exit', onExit)
      child.once('message', () => { clearTimeout(timer); child.off('exit', onExit); resolve(child) })
    })
    this.ready = ready
    ready.catch(() => { if (this.child === child) { this.child = null; this.ready = null } })
    return ready
  }

  /** Drops the renderer (after a budget was blown, or it died); the next render starts a fresh one. */
  private discard (child: ChildProcess): void {
    if (this.child === child) {
      this.child = null
      this.ready = null
    }
    child.kill('SIGKILL')
  }

  private async renderOne (job: Pending): Promise<string> {
    const child = await this.start()
    hold(child, true)
    const { name, text, inputs } = job.opts
    const limits: RenderLimits = { maxSteps: this.budget.maxSteps, maxOutputBytes: this.budget.maxOutputBytes, ...job.opts.limits }
    return await new Promise<string>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer)
        child.off('message', onMessage)
        child.off('exit', onExit)
      }
      const timer = setTimeout(() => {
        done()
        this.discard(child)
        reject(new TemplateBudgetError('time', name, `more than ${this.budget.timeMs} ms`))
      }, this.budget.timeMs)
      const onMessage = (reply: Reply): void => {
        if (reply.id !== job.id) return
        done()
        if ('rendered' in reply) resolve(reply.rendered)
        else reject(rebuild(reply.error, name))
      }
      const onExit = (code: number | null, signal: string | null): void => {
        done()
        this.discard(child)
        if (/heap out of memory|allocation failed/i.test(this.stderr)) reject(new TemplateBudgetError('memory', name, `more than ${this.budget.memoryMb} MB of heap`))
        else reject(new Error(`the template renderer exited (${signal ?? `code ${code}`}) while rendering ${name}: ${lastLine(this.stderr)}`))
      }
      child.on('message', onMessage)
      child.on('exit', onExit)
      child.send({ id: job.id, name, text, inputs: inputs ?? {}, limits })
    })
  }
}

/** Handles a child process keeps its parent alive by: the process, its IPC channel, its stderr pipe. */
function hold (child: ChildProcess, busy: boolean): void {
  const handles = [child, child.channel, child.stderr] as Array<{ ref?: () => void, unref?: () => void } | null | undefined>
  for (const h of handles) {
    if (busy) h?.ref?.()
    else h?.unref?.()
  }
}

function lastLine (text: string): string {
  return text.trim().split('\n').pop() ?? ''
}

function rebuild (e: SerializedError, name: string): Error {
  const templateName = e.templateName ?? name
  const position = e.position ?? { line: 0, column: 0 }
  switch (e.code) {
    case 'TEMPLATE_PARSE': return new TemplateParseError(e.message, templateName, position, e.goMessage ?? e.message)
    case 'TEMPLATE_EXEC': return new TemplateExecError(e.message, templateName, position)
    case 'MODULE_JSON_INVALID': return new ModuleJsonError(e.message, templateName, position, e.offset ?? 0, e.rendered ?? '')
    case 'TEMPLATE_BUDGET_EXCEEDED': {
      const err = new TemplateBudgetError(e.budget ?? 'steps', templateName, '')
      err.message = e.message
      return err
    }
    // a string, an array or the stack past what V8 allows
    case 'RANGE_ERROR': return new TemplateBudgetError('memory', templateName, e.message)
    default: return new TemplateError('TEMPLATE_EXEC', `template: ${templateName}: ${e.message}`, templateName, position)
  }
}

let shared: TemplateRenderer | null = null

/**
 * Renders a module template in the shared renderer with the default budget: the way to render a
 * template a node was sent. Throws what renderModuleTemplate throws, or a TemplateBudgetError.
 */
export function renderModuleTemplateBudgeted (opts: RenderOptions): Promise<string> {
  shared ??= new TemplateRenderer()
  return shared.render(opts)
}
