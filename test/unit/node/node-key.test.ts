import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { computeAddress, getBytes, hexlify, recoverAddress } from 'ethers'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadNodeKey } from '../../../src/node/node-key.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()

describe('the node key', () => {
  it('is generated on first start into node.key, owner-only, and the same key comes back after', async () => {
    const dir = await tempDir()
    const first = await loadNodeKey(dir, {})
    expect(first.source).toBe('generated')
    const file = join(dir, 'node.key')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await readFile(file, 'utf8')).trim()).toBe(first.privateKey)
    const second = await loadNodeKey(dir, {})
    expect(second).toMatchObject({ source: 'file', address: first.address, privateKey: first.privateKey })
  })

  it('comes from WEB3_PRIVATE_KEY when set, with or without 0x', async () => {
    const dir = await tempDir()
    const key = 'ab'.repeat(32)
    const fromEnv = await loadNodeKey(dir, { WEB3_PRIVATE_KEY: key })
    expect(fromEnv.source).toBe('env')
    expect(fromEnv.address).toBe(computeAddress('0x' + key))
    expect((await loadNodeKey(dir, { WEB3_PRIVATE_KEY: '0x' + key })).address).toBe(fromEnv.address)
    await expect(stat(join(dir, 'node.key'))).rejects.toThrow()
  })

  it('refuses a malformed key and a key file others can read, saying what to do', async () => {
    const dir = await tempDir()
    await expect(loadNodeKey(dir, { WEB3_PRIVATE_KEY: '0x1234' })).rejects.toMatchObject({ code: 'ERR_KEY_INVALID' })
    await writeFile(join(dir, 'node.key'), '0x' + 'cd'.repeat(32))
    await chmod(join(dir, 'node.key'), 0o644)
    await expect(loadNodeKey(dir, {})).rejects.toThrow(/readable by others .*chmod 600/)
  })

  it('signs digests that recover to its address, and is the same party as its libp2p peer id', async () => {
    const key = await loadNodeKey(await tempDir(), {})
    const digest = hexlify(new Uint8Array(32).fill(7))
    expect(recoverAddress(digest, key.signer.signDigest(digest))).toBe(key.address)
    const libp2pKey = privateKeyFromRaw(getBytes(key.privateKey))
    const peerId = peerIdFromPrivateKey(libp2pKey)
    expect(peerId.toString()).toMatch(/^16Uiu2/)
    expect(computeAddress(hexlify(peerId.publicKey!.raw))).toBe(key.address)
  })
})
