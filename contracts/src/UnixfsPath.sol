// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice Reads the first bytes of a file inside a results folder, proven against the folder's CID:
/// the caller brings the folder's blocks along the path and the file's first blocks, and each block's
/// sha256 must be the digest its parent's link names. Results folders are added as `ipfs add -r` does
/// by default (CIDv0, dag-pb nodes, UnixFS data, no raw leaves), so that is what it reads: a CIDv0
/// string, dag-pb nodes (`PBNode`: Links = 2, Data = 1; `PBLink`: Hash = 1, Name = 2, Tsize = 3) and
/// UnixFS data (Type = 1, Data = 2, filesize = 3, blocksizes = 4, hashType = 5, fanout = 6).
library UnixfsPath {
    error NotACidV0(string cid);
    error BlockNotOfLink(uint256 index);
    error BadBlock(uint256 index);
    error NotADirectory(uint256 index);
    error NotAFile(uint256 index);
    error NoSuchEntry(uint256 index, string name);
    error ProofShort(uint256 blocks);
    error BadPath(string path);

    uint256 private constant DIRECTORY = 1;
    uint256 private constant FILE = 2;
    uint256 private constant RAW = 0;
    uint256 private constant LOW_128 = type(uint128).max;

    /// @notice The first `limit` bytes (or fewer, the whole file) of the file at `path` ("stdout",
    /// "outputs/result.txt") under the folder of CIDv0 `rootCid`. `blocks`: the folder's block, that of
    /// each folder on the path, then the file's block and, for a file of several chunks, its first
    /// child's, down to the first chunk.
    function readPrefix(string memory rootCid, string calldata path, bytes[] calldata blocks, uint256 limit)
        internal
        pure
        returns (bytes memory)
    {
        bytes32 digest = digestOfCidV0(rootCid);
        bytes calldata p = bytes(path);
        if (p.length == 0) revert BadPath(path);
        uint256 start = 0;
        uint256 index = 0;
        for (uint256 i = 0; i <= p.length; ++i) {
            if (i < p.length && p[i] != "/") continue;
            if (i == start) revert BadPath(path);
            digest = _child(_block(blocks, index, digest), index, p[start:i]);
            start = i + 1;
            ++index;
        }
        return _filePrefix(blocks, index, digest, limit);
    }

    /// @notice The sha256 digest a CIDv0 ("Qm" and 44 more base58btc characters) names.
    function digestOfCidV0(string memory cid) internal pure returns (bytes32) {
        bytes memory s = bytes(cid);
        if (s.length != 46 || s[0] != "Q" || s[1] != "m") revert NotACidV0(cid);
        // the 34-byte multihash as a number, in 128-bit limbs so that no step overflows
        uint256 low;
        uint256 mid;
        uint256 high;
        for (uint256 i = 0; i < 46; ++i) {
            uint256 d = _base58(uint8(s[i]));
            if (d == type(uint256).max) revert NotACidV0(cid);
            low = low * 58 + d;
            mid = mid * 58 + (low >> 128);
            low &= LOW_128;
            high = high * 58 + (mid >> 128);
            mid &= LOW_128;
        }
        // sha2-256 (0x12), 32 bytes long (0x20)
        if (high != 0x1220) revert NotACidV0(cid);
        return bytes32((mid << 128) | low);
    }

    /// @dev Follows a file's first links down to its first chunk, and returns that chunk's first bytes.
    function _filePrefix(bytes[] calldata blocks, uint256 index, bytes32 digest, uint256 limit)
        private
        pure
        returns (bytes memory)
    {
        for (;;) {
            bytes calldata node = _block(blocks, index, digest);
            (bytes calldata firstLinkHash, bytes calldata data) = _firstLinkAndData(node, index);
            (uint256 kind, bytes calldata content) = _unixfs(data, index);
            if (kind != FILE && kind != RAW) revert NotAFile(index);
            if (content.length > 0 || firstLinkHash.length == 0) {
                uint256 n = content.length < limit ? content.length : limit;
                return content[:n];
            }
            digest = _digestOfHash(firstLinkHash, index);
            ++index;
        }
    }

    /// @dev The digest of the link named `name` in directory block `node`.
    function _child(bytes calldata node, uint256 index, bytes calldata name) private pure returns (bytes32) {
        (, bytes calldata data) = _firstLinkAndData(node, index);
        (uint256 kind,) = _unixfs(data, index);
        if (kind != DIRECTORY) revert NotADirectory(index);
        bytes32 wanted = keccak256(name);
        uint256 at = 0;
        while (at < node.length) {
            (uint256 field, uint256 wire, uint256 next) = _key(node, at, index);
            if (wire != 2) revert BadBlock(index);
            (bytes calldata value, uint256 after_) = _lengthDelimited(node, next, index);
            at = after_;
            if (field != 2) continue;
            (bytes calldata hash, bytes calldata linkName) = _link(value, index);
            if (keccak256(linkName) == wanted) return _digestOfHash(hash, index);
        }
        revert NoSuchEntry(index, string(name));
    }

    /// @dev The block at `index`, once its sha256 is `digest`.
    function _block(bytes[] calldata blocks, uint256 index, bytes32 digest) private pure returns (bytes calldata) {
        if (index >= blocks.length) revert ProofShort(blocks.length);
        bytes calldata b = blocks[index];
        if (sha256(b) != digest) revert BlockNotOfLink(index);
        return b;
    }

    /// @dev A PBNode's first link's Hash (empty when it has none) and its Data (empty when absent).
    function _firstLinkAndData(bytes calldata node, uint256 index)
        private
        pure
        returns (bytes calldata firstHash, bytes calldata data)
    {
        firstHash = node[0:0];
        data = node[0:0];
        bool linked = false;
        uint256 at = 0;
        while (at < node.length) {
            (uint256 field, uint256 wire, uint256 next) = _key(node, at, index);
            if (wire != 2 || (field != 1 && field != 2)) revert BadBlock(index);
            (bytes calldata value, uint256 after_) = _lengthDelimited(node, next, index);
            at = after_;
            if (field == 1) {
                data = value;
            } else if (!linked) {
                (firstHash,) = _link(value, index);
                linked = true;
            }
        }
    }

    /// @dev A PBLink's Hash and Name.
    function _link(bytes calldata link, uint256 index) private pure returns (bytes calldata hash, bytes calldata name) {
        hash = link[0:0];
        name = link[0:0];
        uint256 at = 0;
        while (at < link.length) {
            (uint256 field, uint256 wire, uint256 next) = _key(link, at, index);
            if (field == 3 && wire == 0) {
                (, at) = _varint(link, next, index);
                continue;
            }
            if (wire != 2 || (field != 1 && field != 2)) revert BadBlock(index);
            (bytes calldata value, uint256 after_) = _lengthDelimited(link, next, index);
            at = after_;
            if (field == 1) hash = value;
            else name = value;
        }
    }

    /// @dev A UnixFS Data message's Type and its Data bytes.
    function _unixfs(bytes calldata data, uint256 index) private pure returns (uint256 kind, bytes calldata content) {
        kind = type(uint256).max;
        content = data[0:0];
        uint256 at = 0;
        while (at < data.length) {
            (uint256 field, uint256 wire, uint256 next) = _key(data, at, index);
            if (wire == 0) {
                uint256 value;
                (value, at) = _varint(data, next, index);
                if (field == 1) kind = value;
            } else if (wire == 2) {
                bytes calldata value;
                (value, at) = _lengthDelimited(data, next, index);
                if (field == 2) content = value;
            } else {
                revert BadBlock(index);
            }
        }
        if (kind == type(uint256).max) revert BadBlock(index);
    }

    /// @dev The sha256 digest of a binary CIDv0 (a bare sha2-256 multihash).
    function _digestOfHash(bytes calldata hash, uint256 index) private pure returns (bytes32) {
        if (hash.length != 34 || hash[0] != 0x12 || hash[1] != 0x20) revert BadBlock(index);
        return bytes32(hash[2:34]);
    }

    function _key(bytes calldata b, uint256 at, uint256 index)
        private
        pure
        returns (uint256 field, uint256 wire, uint256 next)
    {
        uint256 key;
        (key, next) = _varint(b, at, index);
        field = key >> 3;
        wire = key & 7;
    }

    function _lengthDelimited(bytes calldata b, uint256 at, uint256 index)
        private
        pure
        returns (bytes calldata value, uint256 next)
    {
        uint256 length;
        (length, at) = _varint(b, at, index);
        if (length > b.length - at) revert BadBlock(index);
        next = at + length;
        value = b[at:next];
    }

    /// @dev A protobuf varint of at most 9 bytes (63 bits: what a UnixFS size needs).
    function _varint(bytes calldata b, uint256 at, uint256 index) private pure returns (uint256 value, uint256 next) {
        for (uint256 shift = 0; shift < 63; shift += 7) {
            if (at >= b.length) revert BadBlock(index);
            uint8 byte_ = uint8(b[at++]);
            value |= uint256(byte_ & 0x7f) << shift;
            if (byte_ < 0x80) return (value, at);
        }
        revert BadBlock(index);
    }

    /// @dev A base58btc (Bitcoin alphabet) character's value, or the largest uint256 for another character.
    function _base58(uint8 c) private pure returns (uint256) {
        if (c >= 0x31 && c <= 0x39) return c - 0x31; // 1-9
        if (c >= 0x41 && c <= 0x48) return c - 0x41 + 9; // A-H
        if (c >= 0x4a && c <= 0x4e) return c - 0x4a + 17; // J-N
        if (c >= 0x50 && c <= 0x5a) return c - 0x50 + 22; // P-Z
        if (c >= 0x61 && c <= 0x6b) return c - 0x61 + 33; // a-k
        if (c >= 0x6d && c <= 0x7a) return c - 0x6d + 44; // m-z
        return type(uint256).max;
    }
}
