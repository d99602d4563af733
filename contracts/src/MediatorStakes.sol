// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Escrow} from "./Escrow.sol";

/// @notice Mediators' stakes and the fee each one binds itself for. A mediator's stake is its deposit:
/// it leaves only through the withdrawal delay, which outlasts every deal agreed before it asked. A
/// mediator is bound by a deal (slashed if it lets the deal's mediate deadline pass) only once it has
/// registered, and only by a deal whose mediator fee is at least its registered fee: a mediator is
/// never liable for a deal made up by others that pays it less than it asked for.
abstract contract MediatorStakes is Escrow {
    struct MediatorTerms {
        uint128 fee; // wei, from effectiveAt on
        uint128 feeBefore; // wei, until effectiveAt
        uint64 effectiveAt; // seconds, block time
        bool registered;
    }

    mapping(address => MediatorTerms) internal _mediators;

    event MediatorRegistered(address indexed mediator, uint256 fee, uint64 effectiveAt);

    /// @notice Registers the caller as a mediator bound by deals paying at least `fee`. A lower fee
    /// binds it at once; a higher one only after the withdrawal delay, so that no deal agreed under
    /// the old fee escapes the mediator's liability. The fee registered already (in force or pending)
    /// changes nothing.
    function registerMediator(uint128 fee) external {
        MediatorTerms memory t = _mediators[msg.sender];
        if (t.registered && t.fee == fee) return;
        uint128 inForce = _feeInForce(t);
        uint64 effectiveAt = uint64(block.timestamp);
        if (t.registered && fee > inForce) effectiveAt += withdrawDelay;
        _mediators[msg.sender] = MediatorTerms(fee, t.registered ? inForce : fee, effectiveAt, true);
        emit MediatorRegistered(msg.sender, fee, effectiveAt);
    }

    /// @notice A mediator's terms: whether it registered, the fee that binds it now, and its stake (its
    /// deposit, less a withdrawal it asked for).
    function mediatorOf(address mediator) external view returns (bool registered, uint256 fee, uint256 stake) {
        MediatorTerms memory t = _mediators[mediator];
        uint256 balance = balanceOf[mediator];
        uint256 leaving = withdrawalOf[mediator].amount;
        return (t.registered, _feeInForce(t), leaving >= balance ? 0 : balance - leaving);
    }

    /// @dev Whether a deal paying `fee` binds `mediator`.
    function _binds(address mediator, uint256 fee) internal view returns (bool) {
        MediatorTerms memory t = _mediators[mediator];
        return t.registered && fee >= _feeInForce(t);
    }

    function _feeInForce(MediatorTerms memory t) internal view returns (uint128) {
        return block.timestamp >= t.effectiveAt ? t.fee : t.feeBefore;
    }
}
