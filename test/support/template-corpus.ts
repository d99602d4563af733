/**
 * The real Lilypad module templates the conformance tests read: the folder LILYPAD_TEMPLATE_CORPUS
 * names (.ci/run sets it when ../shared/fixtures/modules exists). A plain clone has none, and those
 * tests do not run there; the tests of single templates use the project's own (`cowsayTemplate`).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { COWSAY_IMAGE_PLACEHOLDER } from '../../src/cli/demo/demo-modules.ts'

export const TEMPLATE_CORPUS: string | undefined = process.env.LILYPAD_TEMPLATE_CORPUS || undefined

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

/** The demo's cowsay module template, its image named by a tag as Lilypad's own cowsay module names it. */
export function cowsayTemplate (image = 'richbrem/cowsay:latest'): string {
  return readFileSync(resolve(repoRoot, 'modules/cowsay/lilypad_module.json.tmpl'), 'utf8').replace(COWSAY_IMAGE_PLACEHOLDER, image)
}
