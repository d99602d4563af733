// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice The ERC-20 token of test networks: the deployer holds the supply and may mint more.
contract LilypadToken is ERC20, Ownable {
    constructor(uint256 initialSupply) ERC20("Lilypad Test Token", "LPT") Ownable(msg.sender) {
        _mint(msg.sender, initialSupply);
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
