import { describe, expect, it } from 'vitest'
import { parseImageRef, pinnedImage, registryOf } from '../../../../src/executor/docker/image-ref.ts'

const D = 'sha256:' + 'ab'.repeat(32)

describe('image references', () => {
  it.each([
    ['busybox', { name: 'busybox', tag: 'latest', digest: null }],
    ['richbrem/cowsay:latest', { name: 'richbrem/cowsay', tag: 'latest', digest: null }],
    ['127.0.0.1:5000/cowsay', { name: '127.0.0.1:5000/cowsay', tag: 'latest', digest: null }],
    ['127.0.0.1:5000/cowsay:v1', { name: '127.0.0.1:5000/cowsay', tag: 'v1', digest: null }],
    [`ghcr.io/a/b@${D}`, { name: 'ghcr.io/a/b', tag: null, digest: D }],
    [D, { name: '', tag: null, digest: D }]
  ])('%s', (ref, parsed) => {
    expect(parseImageRef(ref)).toEqual(parsed)
  })

  it('name their registry: a first part that is a host, else Docker Hub', () => {
    expect(registryOf('busybox')).toBe('docker.io')
    expect(registryOf('richbrem/cowsay')).toBe('docker.io')
    expect(registryOf('ghcr.io/a/b')).toBe('ghcr.io')
    expect(registryOf('127.0.0.1:5000/cowsay')).toBe('127.0.0.1:5000')
    expect(registryOf('localhost/cowsay')).toBe('localhost')
  })

  it('run a pinned spec image as it is, and a tag only as the offer pins it, in the same repository', () => {
    expect(pinnedImage(`a/b@${D}`, '')).toEqual({ image: `a/b@${D}` })
    expect(pinnedImage(D, '')).toEqual({ image: D })
    expect(pinnedImage(`a/b@${D}`, `c/d@${D}`)).toEqual({ refused: `the offer pins c/d@${D}, and the spec names a/b@${D}` })
    expect(pinnedImage('a/b:v1', `a/b@${D}`)).toEqual({ image: `a/b@${D}` })
    expect(pinnedImage('a/b', `a/b@${D}`)).toEqual({ image: `a/b@${D}` })
    expect(pinnedImage('a/b:v1', '')).toEqual({ refused: 'image "a/b:v1" is named by a tag, and the offer pins no digest for it' })
    expect(pinnedImage('a/b:v1', `a/c@${D}`)).toEqual({ refused: `the offer pins a/c@${D}, which is not a/b by digest` })
    expect(pinnedImage('a/b:v1', 'a/b:v2')).toEqual({ refused: 'the offer pins a/b:v2, which is not a/b by digest' })
  })
})
