// `lilypad module check`: runs a module several times locally and reports whether its results CID
// is stable, the determinism check a module author needs before publishing.
import type { Command } from 'commander'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ModuleError } from '../../executor/modules/errors.ts'
import { parseMirrors, type ModuleMirrors } from '../../executor/modules/mirrors.ts'
import { userModuleSchemes } from '../../executor/modules/sources.ts'
import { TemplateError } from '../../executor/template/errors.ts'
import { collectInput, ModuleInputError } from './module.ts'

interface CheckOptions {
  input?: Record<string, string>
  runs: string
  templatePath?: string
  cacheDir?: string
  mirror?: ModuleMirrors
  keep?: boolean
  allowUnpinnedImages?: boolean
}

export function registerModuleCheck (moduleCmd: Command): void {
  moduleCmd
    .command('check')
    .description('Run a module several times locally and report whether its results CID is stable')
    .argument('<module>', '<name>:<ref>, github.com/<owner>/<repo>:<ref>, or <path>:<ref>')
    .option('-i, --input <KEY=VALUE>', 'a module input (repeatable)', collectInput)
    .option('--runs <n>', 'how many times to run it', '2')
    .option('--template-path <path>', 'template path inside the module repository', 'lilypad_module.json.tmpl')
    .option('--cache-dir <dir>', 'module cache directory (default <DATA_DIR>/modules)')
    .option('--mirror <name=repository>', 'fetch a module name or repository from elsewhere (repeatable)', (v: string, prev: ModuleMirrors = {}) => ({ ...prev, ...parseMirrors(v) }))
    .option('--keep', 'keep each run\'s results folder and print where it is')
    .option('--allow-unpinned-images', 'accept image tags (the check then proves nothing about other machines)')
    .option('--json', 'print one object: { module, commit, runs, stable } (an error as { error, code })')
    .action(async (ref: string, opts: CheckOptions & { json?: boolean }) => {
      const json = opts.json === true
      const say = (line: string): void => { if (!json) process.stdout.write(line) }
      const refuse = (message: string, code: string, exit: number): void => {
        if (json) process.stdout.write(JSON.stringify({ error: message, code }) + '\n')
        process.stderr.write(`lilypad module check: ${message}\n`)
        process.exitCode = exit
      }
      const runs = Number(opts.runs)
      if (!Number.isInteger(runs) || runs < 2 || runs > 100) {
        refuse(`--runs must be a whole number from 2 to 100, not ${JSON.stringify(opts.runs)}`, 'BAD_INPUT', 2)
        return
      }
      // the executors load only for a check that runs, never for --help
      const [{ loadModule }, { DockerExecutor }, { WasmExecutor }, { checkDeterminism }, { ExecutionError }, { ResultsError }] = await Promise.all([
        import('../../executor/modules/index.ts'), import('../../executor/docker/executor.ts'), import('../../executor/wasm/executor.ts'), import('../../executor/results/determinism.ts'),
        import('../../executor/results/execution.ts'), import('../../executor/results/errors.ts')
      ])
      const workDir = await mkdtemp(join(tmpdir(), 'lilypad-module-check-'))
      try {
        const module = await loadModule({ ref, inputs: opts.input ?? {}, templatePath: opts.templatePath, cacheDir: opts.cacheDir, mirrors: opts.mirror, allowedSchemes: userModuleSchemes() })
        say(`module ${ref} at ${module.commit} (${module.spec.job.engine.type}), ${runs} runs\n`)
        const executors = {
          docker: new DockerExecutor({ allowUnpinnedImages: opts.allowUnpinnedImages }),
          wasm: new WasmExecutor()
        }
        const report = await checkDeterminism(module, { runs, workDir, executors })
        report.runs.forEach((r, i) => {
          say(`run ${i + 1}: ${r.cid} exit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}${opts.keep ? ` ${r.resultsDir}` : ''}\n`)
        })
        say(report.stable ? `stable: every run gave ${report.runs[0]?.cid}\n` : 'UNSTABLE: the runs gave different results CIDs\n')
        if (json) {
          const runsOut = report.runs.map(r => ({ cid: r.cid, exitCode: r.exitCode, timedOut: r.timedOut, ...(opts.keep ? { resultsDir: r.resultsDir } : {}) }))
          process.stdout.write(JSON.stringify({ module: ref, commit: module.commit, engine: module.spec.job.engine.type, runs: runsOut, stable: report.stable }) + '\n')
        }
        if (!report.stable) process.exitCode = 1
      } catch (err) {
        if (!(err instanceof TemplateError || err instanceof ModuleError || err instanceof ModuleInputError || err instanceof ExecutionError || err instanceof ResultsError)) throw err
        refuse(err.message.split('\n')[0]!, (err as { code?: string }).code ?? 'FAILED', 1)
      } finally {
        if (!opts.keep) await rm(workDir, { recursive: true, force: true })
      }
    })
}
