import { describe, expect, test } from 'vitest'
import { jobInputs, OFFERED_INPUTS_PATH } from '../../../../src/node/adapters/job-inputs.ts'
import type { StorageSpec } from '../../../../src/executor/modules/model.ts'

const CID = 'QmYwAPJzv5CZsnAzt8auVZRnG6VZzwBDD3Xc3w8ZvT4qJo'
const OTHER = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const input = (s: Partial<StorageSpec>): StorageSpec => ({ storageSource: 'IPFS', name: '', cid: CID, url: '', path: '/inputs', raw: {}, ...s })
const refused = (inputsCid: string, inputs: StorageSpec[]): unknown => {
  try {
    jobInputs({ inputsCid, urlPins: '' }, { inputs })
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message }
  }
  return 'taken'
}

describe('a job\'s input data', () => {
  test('is each spec input at its path, and the offer\'s own CID at /inputs', () => {
    expect(jobInputs({ inputsCid: OTHER, urlPins: '' }, { inputs: [input({ path: '/data/target.pdb' })] }))
      .toEqual([{ cid: CID, target: '/data/target.pdb' }, { cid: OTHER, target: OFFERED_INPUTS_PATH }])
    expect(jobInputs({ inputsCid: '', urlPins: '' }, { inputs: [] })).toEqual([])
  })

  test('named by URL, is the folder the job offer pins for that URL; unpinned, or named by nothing, it is refused', () => {
    const url = 'https://example.com/x.csv'
    expect(jobInputs({ inputsCid: '', urlPins: JSON.stringify({ [url]: OTHER }) }, { inputs: [input({ cid: '', url, path: '/data' })] })).toEqual([{ cid: OTHER, target: '/data' }])
    expect(refused('', [input({ cid: '', url })])).toMatchObject({ code: 'ERR_INPUTS_INVALID', message: expect.stringContaining('is named by URL (https://example.com/x.csv), and the job offer pins no content for it') })
    expect(() => jobInputs({ inputsCid: '', urlPins: '[1]' }, { inputs: [] })).toThrow('the job offer\'s URL pins are not a JSON object of URLs to CIDs')
    expect(refused('', [input({ cid: '' })])).toMatchObject({ code: 'ERR_INPUTS_INVALID', message: expect.stringContaining('names neither a CID nor a URL') })
    expect(refused('', [input({ cid: 'not-a-cid' })])).toMatchObject({ code: 'ERR_INPUTS_INVALID', message: 'input "not-a-cid" is not a CID' })
  })

  test.each([
    ['relative', 'data'], ['not normal', '/data/../etc'], ['the root', '/'], ['the outputs', '/outputs'], ['inside the outputs', '/outputs/in'],
    ['the scratch space', '/tmp'], ['the engine\'s own', '/proc/self'], ['a trailing slash', '/data/']
  ])('at a path that is %s is refused', (_, path) => {
    expect(refused('', [input({ path })])).toMatchObject({ code: 'ERR_INPUTS_INVALID' })
  })

  test('overlapping another input is refused, the offer\'s own included', () => {
    expect(refused(OTHER, [input({ path: '/inputs/a.txt' })])).toMatchObject({ code: 'ERR_INPUTS_INVALID', message: expect.stringContaining('overlaps another input') })
    expect(refused('', [input({ path: '/data' }), input({ path: '/data', cid: OTHER })])).toMatchObject({ code: 'ERR_INPUTS_INVALID' })
  })
})
