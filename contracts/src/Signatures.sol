// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice Signatures as every contract here reads them: 65-byte (r, s, v) ones and 64-byte compact
/// ones (r, yParityAndS, EIP-2098), straight from calldata.
library Signatures {
    function recover(bytes32 digest, bytes calldata signature) internal pure returns (address signer, bool valid) {
        ECDSA.RecoverError err;
        if (signature.length == 65) {
            (signer, err,) = ECDSA.tryRecover(
                digest, uint8(signature[64]), bytes32(signature[0:32]), bytes32(signature[32:64])
            );
        } else if (signature.length == 64) {
            (signer, err,) = ECDSA.tryRecover(digest, bytes32(signature[0:32]), bytes32(signature[32:64]));
        } else {
            return (address(0), false);
        }
        valid = err == ECDSA.RecoverError.NoError;
    }
}
