import { describe, expect, test } from 'vitest'
import { openApiDocument } from '../../../../src/node/server/openapi.ts'
import { parseJobRequest } from '../../../../src/node/server/job-request.ts'

describe('/openapi.json', () => {
  test('names every path the API serves, the bearer scheme, and the job request as the schema POST /jobs checks with', () => {
    const doc = openApiDocument('1.2.3') as { openapi: string, info: { version: string }, paths: Record<string, Record<string, { security?: unknown[] }>>, components: { schemas: { JobRequest: { type: string, required: string[], properties: Record<string, unknown>, additionalProperties: boolean } } } }
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info.version).toBe('1.2.3')
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/status', '/metrics', '/jobs', '/jobs/{id}', '/jobs/{id}/events', '/jobs/{id}/cancel', '/activity', '/dashboard', '/ipfs/{cid}']))
    expect(doc.paths['/health']!.get!.security).toEqual([])
    const request = doc.components.schemas.JobRequest
    expect(request).toMatchObject({ type: 'object', required: ['module'], additionalProperties: false })
    expect(Object.keys(request.properties).sort()).toEqual(['agreeWithinMs', 'inputs', 'inputsPath', 'matchWithinMs', 'maxPrice', 'mediationChance', 'module', 'quorum', 'submitWithinMs'])
  })

  test('the schema refuses what parseJobRequest refuses, with the same one-line reasons as before', () => {
    expect(() => parseJobRequest({ module: 'cowsay:v0.0.1', colour: 'red' })).toThrow('unknown field "colour"')
    expect(() => parseJobRequest([])).toThrow('the body must be a JSON object')
    expect(() => parseJobRequest({ module: ' ' })).toThrow('module must be a module reference such as cowsay:v0.0.1')
    expect(parseJobRequest({ module: 'cowsay:v0.0.1' })).toMatchObject({ module: 'cowsay:v0.0.1', inputs: {}, mediationChance: expect.any(Number) })
  })
})
