// The renderer's budgets that every machine counts alike: steps and output.
import { describe, expect, it } from 'vitest'
import { renderModuleTemplate, TemplateBudgetError, TemplateError } from '../../../../src/executor/template/index.ts'

function budgetError (text: string, limits: { maxSteps?: number, maxOutputBytes?: number }): TemplateBudgetError {
  try {
    renderModuleTemplate({ name: 't', text, limits })
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateBudgetError)
    return err as TemplateBudgetError
  }
  throw new Error('expected a budget error')
}

describe('render budgets', () => {
  it('stops a range over a huge number at the step budget', () => {
    const err = budgetError('{{range 9223372036854775807}}{{end}}', { maxSteps: 10_000 })
    expect(err).toBeInstanceOf(TemplateError)
    expect(err.code).toBe('TEMPLATE_BUDGET_EXCEEDED')
    expect(err.budget).toBe('steps')
    expect(err.message).toBe('template: t: rendering exceeded its steps budget (more than 10000 steps)')
  })

  it('counts the steps of templates a template calls, and of break and continue', () => {
    const text = '{{define "x"}}{{range 100}}{{if true}}{{continue}}{{end}}{{end}}{{end}}{{range 1000}}{{template "x"}}{{end}}'
    expect(budgetError(text, { maxSteps: 50_000 }).budget).toBe('steps')
  })

  it('stops output past its budget while rendering, not at the end', () => {
    const err = budgetError('{{range 9223372036854775807}}xxxxxxxx{{end}}', { maxOutputBytes: 4096 })
    expect(err.budget).toBe('output')
  })

  it('stops a string that doubles at each step before it fills the memory', () => {
    const text = '{{$x := "ab"}}{{range 64}}{{$x = printf "%s%s" $x $x}}{{end}}{{$x}}'
    const err = budgetError(text, { maxSteps: 1000, maxOutputBytes: 1 << 20 })
    expect(err.budget).toBe('output')
    expect(err.message).toBe('template: t: rendering exceeded its output budget (a value of more than 1048576 characters)')
  })

  it('refuses widths and precisions beyond a million as Go\'s fmt does', () => {
    const render = (text: string): string => renderModuleTemplate({ name: 't', text: `"${text}"` }).slice(1, -1)
    expect(render('{{printf "%123456789d" 1}}')).toBe('%!(NOVERB)%!(EXTRA int=1)')
    expect(render('{{printf "%.123456789f" 1.5}}')).toBe('%!(NOVERB)%!(EXTRA float64=1.5)')
    expect(render('{{printf "%*d" 10000000 1}}')).toBe('%!(BADWIDTH)1')
    expect(render('{{printf "%.*d" 10000000 1}}')).toBe('%!(BADPREC)1')
    expect(render('{{printf "%5d" 1}}')).toBe('    1')
  })

  it('counts output in UTF-8 bytes', () => {
    // 1000 three-byte characters: 1000 UTF-16 units, 3000 bytes
    const text = `{"a":"${'€'.repeat(1000)}"}`
    expect(budgetError(text, { maxOutputBytes: 2000 }).message).toBe('template: t: rendering exceeded its output budget (more than 2000 bytes of output)')
    expect(renderModuleTemplate({ name: 't', text, limits: { maxOutputBytes: 3008 } })).toBe(text)
  })

  it('renders a template within its budgets as it would with none', () => {
    const text = '{"n":[{{range $i := 5}}{{if $i}},{{end}}{{$i}}{{end}}],"m":{{.Message}}}'
    const limited = renderModuleTemplate({ name: 't', text, inputs: { Message: 'moo' }, limits: { maxSteps: 1000, maxOutputBytes: 1000 } })
    expect(limited).toBe('{"n":[0,1,2,3,4],"m":"moo"}')
    expect(limited).toBe(renderModuleTemplate({ name: 't', text, inputs: { Message: 'moo' } }))
  })
})
