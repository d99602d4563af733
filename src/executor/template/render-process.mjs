// Renders module templates for the parent process, one at a time, so the parent can bound each
// render's time and memory and kill a runaway one. A process, not a worker thread: a thread that
// runs out of heap can take the whole process down with it. Plain JavaScript: Node starts it
// outside any TypeScript loader, so it registers one before importing the renderer.
import { register } from 'tsx/esm/api'

register()
const { renderModuleTemplate } = await import('./index.ts')

/** What the parent needs to rebuild the error: its class by `code`, and each class's own fields. */
function describe (err) {
  if (err instanceof RangeError) return { code: 'RANGE_ERROR', message: err.message }
  if (err === null || typeof err !== 'object') return { message: String(err) }
  const { code, name, message, templateName, position, goMessage, offset, rendered, budget } = err
  return { code, name, message, templateName, position, goMessage, offset, rendered, budget }
}

process.on('message', ({ id, name, text, inputs, limits }) => {
  let reply
  try {
    reply = { id, rendered: renderModuleTemplate({ name, text, inputs, limits }) }
  } catch (err) {
    reply = { id, error: describe(err) }
  }
  process.send(reply)
})
// the parent is gone: nothing is left to render for
process.on('disconnect', () => process.exit(0))
process.send({ ready: true })
