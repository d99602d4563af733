// The module model over every fixture shape: machine, engine (Docker, EngineSpec, WASM), resources,
// network, timeout, inputs and outputs; Go's decoding rules; the spec hash.
import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TEMPLATE_CORPUS } from '../../../support/template-corpus.ts'
import { renderModuleTemplate } from '../../../../src/executor/template/index.ts'
import { parseModuleSpec, specHash, canonicalJson, ModuleError } from '../../../../src/executor/modules/index.ts'
import { parseBytes, parseCpuMillis } from '../../../../src/executor/modules/model.ts'

// the real templates of the corpus LILYPAD_TEMPLATE_CORPUS names
const fixtureDir = TEMPLATE_CORPUS ?? ''

function renderFixture (file: string): string | null {
  const text = readFileSync(resolve(fixtureDir, file), 'utf8')
  const names = [...new Set([...text.matchAll(/\{\{[^}]*?\.([A-Za-z_]\w*)/g)].map(m => m[1]!))]
  try {
    return renderModuleTemplate({ name: file, text, inputs: Object.fromEntries(names.map(n => [n, `v-${n}`])) })
  } catch {
    return null
  }
}

describe.runIf(TEMPLATE_CORPUS !== undefined)('module model', () => {
  const rendered = TEMPLATE_CORPUS === undefined ? [] : readdirSync(fixtureDir).filter(f => f.endsWith('.tmpl')).map(f => [f, renderFixture(f)] as const).filter(([, r]) => r !== null)

  it('reads every fixture that renders, keeping every field', () => {
    expect(rendered.length).toBeGreaterThan(40)
    for (const [file, text] of rendered) {
      const spec = parseModuleSpec(text!)
      expect(spec.raw, file).toEqual(JSON.parse(text!))
      expect(spec.job.raw, file).toEqual(JSON.parse(text!).job)
      expect(['docker', 'wasm'], file).toContain(spec.job.engine.type)
      if (spec.job.engine.type === 'docker') expect(spec.job.engine.image, file).not.toBe('')
    }
  })

  it('types a Docker module, with GPUs and VRAM, resources, network and outputs', () => {
    const spec = parseModuleSpec(renderFixture('Lilypad-Tech__lilypad-bark-module.tmpl')!)
    expect(spec.machine).toEqual({ gpu: 1, gpus: [{ name: '', vendor: '', vram: 40000 }], cpu: 2000, ram: 40000, disk: 0 })
    expect(spec.job.engine).toMatchObject({ type: 'docker', image: 'lilypadnetwork/lilypad-suno-bark-module:latest', entrypoint: ['python', '/workspace/run_bark.py'] })
    expect(spec.job.resources).toMatchObject({ gpu: 1, memoryBytes: 40_000_000_000, cpuMillis: null })
    expect(spec.job.network).toEqual({ type: 'None', domains: [] })
    expect(spec.job.timeout).toBe(3600)
    expect(spec.job.outputs.map(o => [o.name, o.path])).toEqual([['outputs', '/outputs']])
  })

  it('matches lower-case inputs/outputs keys as Go does, and reads a WASM module', () => {
    const duck = parseModuleSpec(renderFixture('31z4__lilypad-duckdb.tmpl')!)
    expect(duck.job.inputs.map(i => [i.storageSource, i.cid, i.path])).toEqual([['IPFS', 'v-InputsCID', '/inputs']])
    expect(duck.job.outputs.map(o => o.path)).toEqual(['/outputs'])
    // The WASM fixture has a trailing comma, so Go cannot read it; its shape, corrected, reads as WASM.
    expect(renderFixture('Lilypad-Tech__lilypad-module-wasm.tmpl')).toBeNull()
    const wasm = parseModuleSpec({ machine: { gpu: 0, cpu: 1000, ram: 100 }, job: { APIVersion: 'V1beta1', Spec: { Engine: 'Wasm', Wasm: { EntryModule: { CID: 'v-WasmCID', StorageSource: 'IPFS' }, EntryPoint: 'v-WasmEntrypoint' }, outputs: [{ Name: 'outputs', StorageSource: 'IPFS', path: '/outputs' }] } } })
    expect(wasm.job.engine.type).toBe('wasm')
    if (wasm.job.engine.type === 'wasm') {
      expect(wasm.job.engine.entryModule?.cid).toBe('v-WasmCID')
      expect(wasm.job.engine.entryPoint).toBe('v-WasmEntrypoint')
    }
  })

  it('reads the EngineSpec shape', () => {
    const spec = parseModuleSpec({ machine: { gpu: 0, cpu: 500, ram: 10 }, job: { APIVersion: 'V1beta2', Spec: { EngineSpec: { Type: 'docker', Params: { Image: 'img@sha256:' + 'b'.repeat(64), Entrypoint: null, Parameters: ['a'], EnvironmentVariables: ['K=V'] } }, Resources: { CPU: '500m', Memory: '1Gb' } } } })
    expect(spec.job.engine).toEqual({ type: 'docker', image: 'img@sha256:' + 'b'.repeat(64), entrypoint: [], parameters: ['a'], environmentVariables: ['K=V'], workingDirectory: '' })
    expect(spec.job.resources).toMatchObject({ cpuMillis: 500, memoryBytes: 1e9 })
  })

  it('fails where Go\'s decoding into Lilypad\'s structs fails', () => {
    expect(() => parseModuleSpec('{"machine": {"cpu": "1"}}')).toThrow('json: cannot unmarshal string into Go struct field Module.machine.cpu of type int')
    expect(() => parseModuleSpec('{"machine": {"gpu": 1.5}}')).toThrow('json: cannot unmarshal number 1.5 into Go struct field Module.machine.gpu of type int')
    expect(() => parseModuleSpec('[1]')).toThrow(ModuleError)
    expect(parseModuleSpec('{"MACHINE": {"CPU": 7}, "machine": {"ram": 3}}').machine).toMatchObject({ cpu: 0, ram: 3 })
  })

  it('hashes the canonical JSON, so key order and spacing do not matter', () => {
    expect(canonicalJson({ b: [1, { d: 1, c: 'x' }], a: null })).toBe('{"a":null,"b":[1,{"c":"x","d":1}]}')
    expect(specHash(JSON.parse('{"b":1, "a":2}'))).toBe(specHash(JSON.parse('{"a":2,"b":1}')))
    expect(specHash({ a: 1 })).not.toBe(specHash({ a: 2 }))
  })

  it('reads CPU and memory quantities', () => {
    expect(parseCpuMillis('1')).toBe(1000)
    expect(parseCpuMillis('0.5')).toBe(500)
    expect(parseCpuMillis('250m')).toBe(250)
    expect(parseBytes('2Gb')).toBe(2e9)
    expect(parseBytes('40000MB')).toBe(4e10)
    expect(parseBytes('1GiB')).toBe(2 ** 30)
    expect(parseBytes('lots')).toBeNull()
  })
})
