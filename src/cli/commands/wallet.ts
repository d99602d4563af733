import type { Command } from 'commander'
import type { SettlementClient } from '../../settlement/client.ts'
import { API_EXIT, CommandFailure, reportRun, type Write } from './node-api-flags.ts'

/** Where the wallet's key and chain come from: a node's own settings. */
export interface WalletFlags {
  dataDir?: string
  /** a network whose preset (<data-dir>/networks/<name>.json) names the chain and the contract */
  network?: string
  rpcUrl?: string
  settlement?: string
  json?: boolean
}

const stdout: Write = t => { process.stdout.write(t) }
const stderr: Write = t => { process.stderr.write(t) }

/** The preset of `--network`, when one is named: it must exist. */
async function presetOf (flags: WalletFlags): Promise<{ rpcUrl: string, settlement: string } | undefined> {
  if (flags.network === undefined) return undefined
  const [{ loadPreset }, { defaultDataDir }] = await Promise.all([import('../../node/network-presets.ts'), import('../../node/settings.ts')])
  const dataDir = flags.dataDir ?? process.env.DATA_DIR ?? defaultDataDir()
  let preset
  try {
    preset = loadPreset(dataDir, flags.network)
  } catch (err) {
    throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', (err as Error).message)
  }
  if (preset === undefined) throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', `no preset of network ${flags.network} in ${dataDir}/networks (lilypad contracts deploy writes one)`)
  return preset
}

/** The node's key (WEB3_PRIVATE_KEY or <data-dir>/node.key) and its address. */
async function keyOf (flags: WalletFlags): Promise<{ privateKey: string, address: string }> {
  const [{ loadNodeKey }, { defaultDataDir }] = await Promise.all([import('../../node/node-key.ts'), import('../../node/settings.ts')])
  const key = await loadNodeKey(flags.dataDir ?? defaultDataDir(), process.env)
  return { privateKey: key.privateKey, address: key.address }
}

/** The settlement contract, as the node's key reaches it. The caller closes it. */
async function settlementOf (flags: WalletFlags): Promise<SettlementClient> {
  const preset = await presetOf(flags)
  const rpcUrl = flags.rpcUrl ?? process.env.WEB3_RPC_URL ?? preset?.rpcUrl
  const settlementAddress = flags.settlement ?? process.env.WEB3_SETTLEMENT_ADDRESS ?? preset?.settlement
  if (rpcUrl === undefined || rpcUrl === '' || settlementAddress === undefined || settlementAddress === '') {
    throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', 'name the chain: --network <name> with a preset, or --rpc-url and --settlement (or WEB3_RPC_URL and WEB3_SETTLEMENT_ADDRESS)')
  }
  const [settlement, key] = await Promise.all([import('../../settlement/client.ts'), keyOf(flags)])
  try {
    return await settlement.SettlementClient.open({ rpcUrl, privateKey: key.privateKey, settlementAddress })
  } catch (err) {
    throw new CommandFailure(API_EXIT.noNode, 'NO_CHAIN', `no settlement contract answers at ${settlementAddress} on ${rpcUrl}: ${(err as Error).message.split('\n')[0]}`)
  }
}

function amountOf (text: string): bigint {
  if (!/^[0-9]{1,78}$/.test(text) || BigInt(text) === 0n) throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', `an amount is a whole, positive number of wei, not ${JSON.stringify(text)}`)
  return BigInt(text)
}

/** What the account holds: tokens, its escrow deposit, and a withdrawal it asked for. */
async function balances (client: SettlementClient): Promise<{ address: string, tokens: string, deposit: string, withdrawal: { amount: string, unlockAt: string } | null }> {
  const [tokens, deposit, withdrawal] = await Promise.all([client.tokenBalanceOf(), client.balanceOf(), client.withdrawalOf()])
  return {
    address: client.wallet.address,
    tokens: tokens.toString(),
    deposit: deposit.toString(),
    withdrawal: withdrawal === undefined ? null : { amount: withdrawal.amount.toString(), unlockAt: new Date(withdrawal.unlockAt * 1000).toISOString() }
  }
}

function balanceText (b: Awaited<ReturnType<typeof balances>>): string {
  return [
    `account  ${b.address}`,
    `tokens   ${b.tokens} wei`,
    `deposit  ${b.deposit} wei (what deals lock from)`,
    `leaving  ${b.withdrawal === null ? 'nothing' : `${b.withdrawal.amount} wei, paid out from ${b.withdrawal.unlockAt}`}`,
    ''
  ].join('\n')
}

/** Runs `body` with the settlement contract open, and closes it. */
async function withSettlement<T> (flags: WalletFlags, body: (client: SettlementClient) => Promise<T>): Promise<T> {
  const client = await settlementOf(flags)
  try {
    return await body(client)
  } finally {
    await client.close()
  }
}

export async function walletAddress (flags: WalletFlags, out = stdout, err = stderr): Promise<number> {
  return await reportRun('wallet address', flags, out, err, async () => {
    const { address } = await keyOf(flags)
    return { json: { address }, text: `${address}\n` }
  })
}

export async function walletBalance (flags: WalletFlags, out = stdout, err = stderr): Promise<number> {
  return await reportRun('wallet balance', flags, out, err, async () => await withSettlement(flags, async (client) => {
    const b = await balances(client)
    return { json: b, text: balanceText(b) }
  }))
}

export async function walletDeposit (amount: string, flags: WalletFlags, out = stdout, err = stderr): Promise<number> {
  return await reportRun('wallet deposit', flags, out, err, async () => {
    const wei = amountOf(amount)
    return await withSettlement(flags, async (client) => {
      const receipt = await client.deposit(wei)
      const b = await balances(client)
      return { json: { ...b, transaction: receipt.hash }, text: `deposited ${wei} wei (transaction ${receipt.hash})\n${balanceText(b)}` }
    })
  })
}

/**
 * `lilypad wallet withdraw <amount>` asks for a withdrawal, paid out after the contract's delay (and
 * after every deadline of the deals the deposit is locked in); `lilypad wallet withdraw` with no
 * amount pays out the one asked for, once it is due.
 */
export async function walletWithdraw (amount: string | undefined, flags: WalletFlags, out = stdout, err = stderr): Promise<number> {
  return await reportRun('wallet withdraw', flags, out, err, async () => {
    const wei = amount === undefined ? undefined : amountOf(amount)
    return await withSettlement(flags, async (client) => {
      if (wei !== undefined) {
        const receipt = await client.requestWithdrawal(wei)
        const b = await balances(client)
        return { json: { ...b, transaction: receipt.hash }, text: `asked to withdraw ${wei} wei (transaction ${receipt.hash}); run \`lilypad wallet withdraw\` from ${b.withdrawal?.unlockAt ?? 'when it is due'}\n` }
      }
      const pending = await client.withdrawalOf()
      if (pending === undefined) throw new CommandFailure(API_EXIT.failed, 'NO_WITHDRAWAL', 'no withdrawal was asked for: `lilypad wallet withdraw <amount>` asks for one')
      const receipt = await client.withdraw().catch((e: Error) => {
        throw new CommandFailure(API_EXIT.failed, (e as { code?: string }).code ?? 'FAILED', `${e.message.split('\n')[0]} (the withdrawal of ${pending.amount} wei is paid out from ${new Date(pending.unlockAt * 1000).toISOString()})`)
      })
      const b = await balances(client)
      return { json: { ...b, withdrawn: pending.amount.toString(), transaction: receipt.hash }, text: `withdrew ${pending.amount} wei (transaction ${receipt.hash})\n${balanceText(b)}` }
    })
  })
}

function withWalletFlags (command: Command, chain = true): Command {
  command.option('--data-dir <dir>', 'the node\'s data directory, which holds its key (DATA_DIR; WEB3_PRIVATE_KEY wins)')
  if (chain) {
    command.option('--network <name>', 'a network whose preset names the chain and the contract (<data-dir>/networks/<name>.json)')
      .option('--rpc-url <url>', 'the chain\'s JSON-RPC endpoint (WEB3_RPC_URL)')
      .option('--settlement <address>', 'the settlement contract (WEB3_SETTLEMENT_ADDRESS)')
  }
  return command.option('--json', 'print one JSON object (an error as { error, code })')
}

export function registerWallet (program: Command): void {
  const wallet = program.command('wallet').description('the node\'s account: its address, tokens and escrow deposit')
  withWalletFlags(wallet.command('address').description('print the node\'s account address'), false)
    .action(async (flags: WalletFlags) => { process.exitCode = await walletAddress(flags) })
  withWalletFlags(wallet.command('balance').description('tokens, escrow deposit, and a withdrawal under way'))
    .action(async (flags: WalletFlags) => { process.exitCode = await walletBalance(flags) })
  withWalletFlags(wallet.command('deposit').description('move tokens into escrow, where deals lock collateral and payment from').argument('<wei>', 'the amount'))
    .action(async (amount: string, flags: WalletFlags) => { process.exitCode = await walletDeposit(amount, flags) })
  withWalletFlags(wallet.command('withdraw').description('ask to withdraw an amount from escrow; with no amount, take out the one asked for once it is due').argument('[wei]', 'the amount to ask for'))
    .action(async (amount: string | undefined, flags: WalletFlags) => { process.exitCode = await walletWithdraw(amount, flags) })
}
