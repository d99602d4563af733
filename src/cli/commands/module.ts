// `lilypad module render`: renders a module template, from a file or a module reference, the way a
// node would, and prints the result as JSON.
import { Command } from 'commander'
import { readFile, stat } from 'node:fs/promises'
import { TemplateError } from '../../executor/template/errors.ts'
import { ModuleError } from '../../executor/modules/errors.ts'
import { parseMirrors, type ModuleMirrors } from '../../executor/modules/mirrors.ts'
import { userModuleSchemes } from '../../executor/modules/sources.ts'
import { registerModuleCheck } from './module-check.ts'

/** Parses repeated `-i K=V` options into an inputs map. */
export function collectInput (value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=')
  if (eq <= 0) throw new ModuleInputError(`invalid input ${JSON.stringify(value)}: expected KEY=VALUE`)
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) }
}

export class ModuleInputError extends Error {
  readonly code = 'MODULE_INPUT_INVALID'
}

function collectMirror (value: string, previous: ModuleMirrors = {}): ModuleMirrors {
  return { ...previous, ...parseMirrors(value) }
}

async function isFile (path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}

interface RenderOptions {
  input?: Record<string, string>
  templatePath?: string
  cacheDir?: string
  mirror?: ModuleMirrors
  raw?: boolean
}

/** Renders a template file or a module reference; returns the rendered JSON text. */
export async function renderForCli (target: string, opts: RenderOptions): Promise<string> {
  const inputs = opts.input ?? {}
  // the renderer and the module loader load when a module is rendered, not when the command line is read
  const [{ renderModuleTemplateBudgeted }, { loadModule, parseModuleSpec }] = await Promise.all([import('../../executor/template/index.ts'), import('../../executor/modules/index.ts')])
  if (await isFile(target)) {
    const text = await readFile(target, 'utf8')
    const rendered = await renderModuleTemplateBudgeted({ name: target, text, inputs })
    parseModuleSpec(rendered)
    return rendered
  }
  const loaded = await loadModule({ ref: target, inputs, templatePath: opts.templatePath, cacheDir: opts.cacheDir, mirrors: opts.mirror, allowedSchemes: userModuleSchemes() })
  return loaded.rendered
}

function userMessage (err: unknown): string | null {
  if (err instanceof TemplateError || err instanceof ModuleError || err instanceof ModuleInputError) return err.message
  return null
}

export function registerModule (program: Command): Command {
  const moduleCmd = program.command('module').description('Work with module templates: render them locally as a node would.')
  moduleCmd
    .command('render')
    .description('Render a module template (a file, or a module reference such as cowsay:v0.0.1) and print it as JSON')
    .argument('<template-or-module>', 'a template file, or <name>:<ref>, github.com/<owner>/<repo>:<ref>, <path>:<ref>')
    .option('-i, --input <KEY=VALUE>', 'a module input (repeatable)', collectInput)
    .option('--template-path <path>', 'template path inside the module repository', 'lilypad_module.json.tmpl')
    .option('--cache-dir <dir>', 'module cache directory (default <DATA_DIR>/modules)')
    .option('--mirror <name=repository>', 'fetch a module name or repository from elsewhere (repeatable; adds to LILYPAD_MODULE_MIRRORS)', collectMirror)
    .option('--raw', 'print the rendered text exactly as the template produced it')
    .option('--json', 'print the rendered module as one line of JSON (an error as { error, code })')
    .action(async (target: string, opts: RenderOptions & { json?: boolean }) => {
      try {
        const rendered = await renderForCli(target, opts)
        process.stdout.write(opts.raw === true && opts.json !== true ? rendered : JSON.stringify(JSON.parse(rendered), null, opts.json === true ? undefined : 2) + '\n')
      } catch (err) {
        const msg = userMessage(err)
        if (msg === null) throw err
        if (opts.json === true) process.stdout.write(JSON.stringify({ error: msg, code: (err as { code?: string }).code ?? 'FAILED' }) + '\n')
        process.stderr.write(`lilypad module render: ${msg}\n`)
        process.exitCode = 1
      }
    })
  registerModuleCheck(moduleCmd)
  return moduleCmd
}
