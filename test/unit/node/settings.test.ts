import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveSettings, DEFAULTS } from '../../../src/node/settings.ts'
import { slotsFromSettings } from '../../../src/node/slots.ts'
import { DEFAULT_NODE_LIMITS } from '../../../src/node/limits.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const A = '0x' + '11'.repeat(20)
const B = '0x' + '22'.repeat(20)

describe('node settings', () => {
  it('take Lilypad\'s names where ours are not set: OFFER_COUNT, OFFER_MODULES; log level and format are checked', async () => {
    const dataDir = await tempDir()
    const lilypad = resolveSettings({ dataDir }, { OFFER_COUNT: '3', OFFER_MODULES: 'cowsay,sdxl' })
    expect(lilypad.offer).toMatchObject({ slots: 3, modules: ['cowsay', 'sdxl'] })
    expect(resolveSettings({ dataDir }, { OFFER_COUNT: '3', OFFER_SLOTS: '2' }).offer.slots).toBe(2)
    expect(resolveSettings({ dataDir }, {})).toMatchObject({ logLevel: 'info', logFormat: 'json', apiHost: '127.0.0.1', apiHostNames: [] })
    expect(resolveSettings({ dataDir }, { LOG_LEVEL: 'debug', LOG_FORMAT: 'pretty' })).toMatchObject({ logLevel: 'debug', logFormat: 'pretty' })
    expect(() => resolveSettings({ dataDir }, { LOG_LEVEL: 'loud' })).toThrow('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, not "loud"')
    expect(() => resolveSettings({ dataDir }, { LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT must be one of json, pretty/)
    expect(resolveSettings({ dataDir }, { LILYPAD_ANNOUNCE: '/ip4/203.0.113.7/tcp/4001,/dns4/node.example/tcp/4001' }).announce).toEqual(['/ip4/203.0.113.7/tcp/4001', '/dns4/node.example/tcp/4001'])
    expect(() => resolveSettings({ dataDir }, { LILYPAD_ANNOUNCE: '203.0.113.7:4001' })).toThrow('LILYPAD_ANNOUNCE: 203.0.113.7:4001 is not a TCP multiaddr such as /ip4/203.0.113.7/tcp/4001 or /dns4/node.example/tcp/4001')
  })

  it('take flags over the environment over the config file over defaults', async () => {
    const dataDir = await tempDir()
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ network: 'from-file', price: '7', offerRam: 100, solvers: [A] }))
    const env = { DATA_DIR: dataDir, OFFER_RAM: '200', SERVICE_MEDIATORS: B }
    const s = resolveSettings({ network: 'from-flag' }, env)
    expect(s.network).toBe('from-flag')
    expect(s.offer.ramMb).toBe(200)
    expect(s.offer.price).toBe('7')
    expect(s.solvers).toEqual(['0x1111111111111111111111111111111111111111'])
    expect(s.mediators).toEqual(['0x2222222222222222222222222222222222222222'])
    expect(s.solverFee).toBe(DEFAULTS.solverFee)
    expect(s.roles).toEqual(['resource-provider'])
  })

  it('take relays from --relay, LILYPAD_RELAYS or `relays`, each with its peer id, and serve as a relay only when asked', async () => {
    const dataDir = await tempDir()
    const relay = '/ip4/203.0.113.7/tcp/4001/p2p/16Uiu2HAmRelay'
    expect(resolveSettings({ dataDir }, {})).toMatchObject({ relays: [], relayServer: false })
    expect(resolveSettings({ dataDir }, { LILYPAD_RELAYS: `${relay},/dns4/relay.example/tcp/4001/p2p/16Uiu2HAmOther`, LILYPAD_RELAY_SERVER: 'true' }))
      .toMatchObject({ relays: [relay, '/dns4/relay.example/tcp/4001/p2p/16Uiu2HAmOther'], relayServer: true })
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ relays: [relay], relayServer: true }))
    expect(resolveSettings({ dataDir }, {})).toMatchObject({ relays: [relay], relayServer: true })
    expect(() => resolveSettings({ dataDir }, { LILYPAD_RELAYS: '/ip4/203.0.113.7/tcp/4001' })).toThrow('LILYPAD_RELAYS: /ip4/203.0.113.7/tcp/4001 is not a relay\'s TCP multiaddr with its peer id')
    expect(() => resolveSettings({ dataDir }, { LILYPAD_RELAY_SERVER: 'yes' })).toThrow('LILYPAD_RELAY_SERVER must be true or false, not "yes"')
    expect(() => resolveSettings({ dataDir }, { LILYPAD_ANNOUNCE: '/ip4/203.0.113.8/tcp/4001' })).toThrow(/LILYPAD_RELAYS and LILYPAD_ANNOUNCE/)
  })

  it('take a mediator\'s stake from --stake or MEDIATOR_STAKE; none unless asked', async () => {
    const dataDir = await tempDir()
    expect(resolveSettings({ dataDir }, {}).mediatorStake).toBeUndefined()
    expect(resolveSettings({ dataDir }, { MEDIATOR_STAKE: '5000' }).mediatorStake).toBe('5000')
    expect(resolveSettings({ dataDir, stake: '7000' }, { MEDIATOR_STAKE: '5000' }).mediatorStake).toBe('7000')
  })

  it('explain bad values in one line', async () => {
    const dataDir = await tempDir()
    expect(() => resolveSettings({ dataDir, roles: 'miner' }, {})).toThrow(/unknown role miner/)
    expect(() => resolveSettings({ dataDir }, { OFFER_CPU: 'lots' })).toThrow(/OFFER_CPU must be a whole number/)
    expect(() => resolveSettings({ dataDir }, { SERVICE_SOLVER: 'bob' })).toThrow(/SERVICE_SOLVER: bob is not an Ethereum address/)
    expect(() => resolveSettings({ dataDir, price: '1.5' }, {})).toThrow(/OFFER_PRICE must be an amount in wei/)
    expect(() => resolveSettings({ dataDir, stake: '1e18' }, {})).toThrow(/MEDIATOR_STAKE must be an amount in wei/)
    expect(() => resolveSettings({ dataDir }, { OFFER_MAX_SUBMIT_WITHIN: '30' })).toThrow('OFFER_MAX_SUBMIT_WITHIN must be between 60 and 172800 seconds, not 30')
    expect(() => resolveSettings({ dataDir, offerMaxSubmitWithin: 200_000 }, {})).toThrow(/must be between 60 and 172800 seconds/)
    await writeFile(join(dataDir, 'config.json'), '{ not json')
    expect(() => resolveSettings({ dataDir }, {})).toThrow(/is not JSON/)
  })

  it('refuse a config file key no setting reads, naming it and the key it was likely meant to be', async () => {
    const dataDir = await tempDir()
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ offerRam: 100, mediatorMinstake: '5' }))
    expect(() => resolveSettings({ dataDir }, {})).toThrow(/config\.json has an unknown key "mediatorMinstake" \(did you mean "mediatorMinStake"\?\); the keys it may hold: .*offerRam/)
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ colour: 'red' }))
    expect(() => resolveSettings({ dataDir }, {})).toThrow(/unknown key "colour"; the keys/)
    await writeFile(join(dataDir, 'config.json'), '[1, 2]')
    expect(() => resolveSettings({ dataDir }, {})).toThrow(/must hold a JSON object of settings/)
    // every key a setting reads is taken: the devnet writes these
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ offerRam: 100, modules: ['github.com/a/b'], mediatorMinStake: '1', docker: false, mirrors: {} }))
    expect(resolveSettings({ dataDir }, {})).toMatchObject({ mediatorMinStake: '1', docker: false, offer: { ramMb: 100, modules: ['github.com/a/b'] } })
  })

  it('take the bounds on what peers can make the node hold from the config file\'s `limits` or LILYPAD_LIMITS, by name', async () => {
    const dataDir = await tempDir()
    expect(resolveSettings({ dataDir }, {}).limits).toEqual(DEFAULT_NODE_LIMITS)
    await writeFile(join(dataDir, 'config.json'), JSON.stringify({ limits: { bookMaxOffers: 500, meshMaxOffersPerAuthor: 8 } }))
    expect(resolveSettings({ dataDir }, {}).limits).toEqual({ ...DEFAULT_NODE_LIMITS, bookMaxOffers: 500, meshMaxOffersPerAuthor: 8 })
    expect(resolveSettings({ dataDir }, { LILYPAD_LIMITS: '{"dhtMaxRecords": 100}' }).limits).toEqual({ ...DEFAULT_NODE_LIMITS, dhtMaxRecords: 100 })
    expect(() => resolveSettings({ dataDir }, { LILYPAD_LIMITS: '{"bookMaxOffer": 1}' })).toThrow(/unknown limit "bookMaxOffer"; the limits: meshMaxOffers, /)
    expect(() => resolveSettings({ dataDir }, { LILYPAD_LIMITS: '{"bookMaxOffers": -1}' })).toThrow('limit bookMaxOffers must be a positive number, not -1')
    expect(() => resolveSettings({ dataDir }, { LILYPAD_LIMITS: 'lots' })).toThrow(/limits must be a JSON object of named limits/)
  })

  it('bound the submit window a slot takes: 3 hours unless set, in seconds, and offered in ms', async () => {
    const dataDir = await tempDir()
    expect(resolveSettings({ dataDir }, {}).offer.maxSubmitWithinMs).toBe(10_800_000)
    const s = resolveSettings({ dataDir, solvers: A, mediators: B }, { OFFER_MAX_SUBMIT_WITHIN: '2400' })
    expect(s.offer.maxSubmitWithinMs).toBe(2_400_000)
    expect((await slotsFromSettings(s)).map(slot => slot.maxSubmitWithin)).toEqual([2_400_000])
  })

  it('give a provider slots from its configured or detected machine, trusting its solvers and mediators', async () => {
    const dataDir = await tempDir()
    const s = resolveSettings({ dataDir, offerCpu: 1500, offerSlots: 2, solvers: A, mediators: B }, {})
    const slots = await slotsFromSettings(s)
    expect(slots).toHaveLength(2)
    expect(slots[0]).toMatchObject({ cpu: 1500, gpu: 0, trustedSolvers: [s.solvers[0]], trustedMediators: [s.mediators[0]] })
    expect(slots[0]!.ramMb).toBeGreaterThan(0)
    await expect(slotsFromSettings(resolveSettings({ dataDir, mediators: B }, {}))).rejects.toThrow(/SERVICE_SOLVER/)
    await expect(slotsFromSettings(resolveSettings({ dataDir, solvers: A, mediators: B, offerGpu: 8 }, {}))).rejects.toThrow(/OFFER_GPU is 8/)
  })

  it('offer no GPU where Docker has no NVIDIA runtime, and refuse a configured one', async () => {
    const dataDir = await tempDir()
    const s = resolveSettings({ dataDir, solvers: A, mediators: B }, {})
    expect((await slotsFromSettings(s, { gpuRuntime: false }))[0]).toMatchObject({ gpu: 0, gpuVramMb: 0 })
    await expect(slotsFromSettings(resolveSettings({ dataDir, solvers: A, mediators: B, offerGpu: 1 }, {}), { gpuRuntime: false }))
      .rejects.toThrow('OFFER_GPU is 1, and Docker has no NVIDIA runtime to give jobs GPUs (install the NVIDIA Container Toolkit)')
  })

  it('keep jobs off the network unless the provider allows it', async () => {
    const dataDir = await tempDir()
    expect(resolveSettings({ dataDir }, {}).allowJobNetwork).toBe(false)
    expect(resolveSettings({ dataDir }, { LILYPAD_ALLOW_JOB_NETWORK: 'true' }).allowJobNetwork).toBe(true)
    expect(resolveSettings({ dataDir, allowJobNetwork: true }, {}).allowJobNetwork).toBe(true)
    expect(() => resolveSettings({ dataDir }, { LILYPAD_ALLOW_JOB_NETWORK: 'yes please' })).toThrow('LILYPAD_ALLOW_JOB_NETWORK must be true or false, not "yes please"')
  })

  it('run a proposal\'s job ahead of its deal unless the provider turns it off', async () => {
    const dataDir = await tempDir()
    expect(resolveSettings({ dataDir }, {}).runAhead).toBe(true)
    expect(resolveSettings({ dataDir }, { LILYPAD_RUN_AHEAD: 'false' }).runAhead).toBe(false)
    expect(resolveSettings({ dataDir, runAhead: 'false' }, { LILYPAD_RUN_AHEAD: 'true' }).runAhead).toBe(false)
    expect(() => resolveSettings({ dataDir }, { LILYPAD_RUN_AHEAD: 'never' })).toThrow('LILYPAD_RUN_AHEAD must be true or false, not "never"')
  })
})
