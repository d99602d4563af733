import { Command } from 'commander'
import { describe, expect, test } from 'vitest'
import { registerNode, settingsFlags } from '../../../src/cli/commands/node.ts'

describe('a daemon\'s flags', () => {
  test('take Lilypad\'s names for ours, ours first when both are given', () => {
    expect(settingsFlags({ web3RpcUrl: 'http://chain', serviceSolver: '0xs', serviceMediators: '0xm', offerCount: '4', offerModules: 'cowsay', settlement: '0xc' }))
      .toEqual({ rpcUrl: 'http://chain', solvers: '0xs', mediators: '0xm', offerSlots: '4', modules: 'cowsay', settlementAddress: '0xc' })
    expect(settingsFlags({ rpcUrl: 'http://ours', web3RpcUrl: 'http://theirs' })).toEqual({ rpcUrl: 'http://ours' })
    expect(settingsFlags({ relay: '/ip4/203.0.113.7/tcp/4001/p2p/16Uiu2HAmRelay', relayServer: true })).toEqual({ relays: '/ip4/203.0.113.7/tcp/4001/p2p/16Uiu2HAmRelay', relayServer: true })
  })

  test('--help names the environment variable of every setting that has one', () => {
    const program = new Command('lilypad')
    registerNode(program)
    const help = program.commands.find(c => c.name() === 'node')!.helpInformation()
    for (const name of ['LILYPAD_ROLES', 'WEB3_RPC_URL', 'SERVICE_SOLVER', 'SERVICE_MEDIATORS', 'OFFER_SLOTS', 'OFFER_COUNT', 'OFFER_MODULES', 'OFFER_DISK', 'SOLVER_FEE', 'MEDIATOR_FEE', 'LOG_LEVEL', 'LOG_FORMAT', 'LILYPAD_API_HOST', 'LILYPAD_RELAYS', 'LILYPAD_RELAY_SERVER', 'DATA_DIR']) {
      expect(help).toContain(name)
    }
  })
})
