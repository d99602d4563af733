// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @notice Deposits of one ERC-20 token, held in escrow. A withdrawal is requested first and paid only
/// after `withdrawDelay`, which no deal's deadlines may exceed, counted from its agree deadline: until
/// then the requested funds stay in the balance and every deal signed against them can still be settled.
abstract contract Escrow is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    struct WithdrawalRequest {
        uint192 amount;
        uint64 unlockAt; // seconds, block time
    }

    IERC20 public immutable token;
    uint64 public immutable withdrawDelay; // seconds

    mapping(address => uint256) public balanceOf;
    mapping(address => WithdrawalRequest) public withdrawalOf;

    event Deposited(address indexed account, uint256 amount);
    event WithdrawalRequested(address indexed account, uint256 amount, uint64 unlockAt);
    event Withdrawn(address indexed account, uint256 amount);

    error ZeroAmount();
    error NoWithdrawalRequested(address account);
    error WithdrawalNotReady(address account, uint64 unlockAt, uint256 blockTime);
    error InsufficientDeposit(address account, uint256 needed, uint256 available);

    constructor(IERC20 token_, uint64 withdrawDelay_) {
        token = token_;
        withdrawDelay = withdrawDelay_;
    }

    /// @notice Moves `amount` of the token from the caller (who approved it) into the caller's deposit.
    function deposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        balanceOf[msg.sender] += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Deposited(msg.sender, amount);
    }

    /// @notice Starts the delay for a withdrawal of `amount`; a new request replaces the previous one.
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 available = balanceOf[msg.sender];
        if (amount > available) revert InsufficientDeposit(msg.sender, amount, available);
        uint64 unlockAt = uint64(block.timestamp) + withdrawDelay;
        withdrawalOf[msg.sender] = WithdrawalRequest(uint192(amount), unlockAt);
        emit WithdrawalRequested(msg.sender, amount, unlockAt);
    }

    /// @notice Pays out the requested withdrawal once its delay has passed, or what remains of it if
    /// settlements have spent part of the deposit meanwhile.
    function withdraw() external nonReentrant returns (uint256 paid) {
        WithdrawalRequest memory request = withdrawalOf[msg.sender];
        if (request.unlockAt == 0) revert NoWithdrawalRequested(msg.sender);
        if (block.timestamp < request.unlockAt) revert WithdrawalNotReady(msg.sender, request.unlockAt, block.timestamp);
        delete withdrawalOf[msg.sender];
        uint256 available = balanceOf[msg.sender];
        paid = request.amount < available ? request.amount : available;
        balanceOf[msg.sender] = available - paid;
        token.safeTransfer(msg.sender, paid);
        emit Withdrawn(msg.sender, paid);
    }

    function _debit(address account, uint256 amount) internal {
        if (!_tryDebit(account, amount)) revert InsufficientDeposit(account, amount, balanceOf[account]);
    }

    /// @dev As _debit, but a deposit that falls short is left as it is and false returned.
    function _tryDebit(address account, uint256 amount) internal returns (bool) {
        uint256 available = balanceOf[account];
        if (available < amount) return false;
        unchecked {
            balanceOf[account] = available - amount;
        }
        return true;
    }

    function _credit(address account, uint256 amount) internal {
        balanceOf[account] += amount;
    }
}
