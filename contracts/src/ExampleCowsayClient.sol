// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ILilypadJobClient} from "./ILilypadJobClient.sol";
import {LilypadJobs} from "./LilypadJobs.sol";

/// @notice A contract that has the cowsay module say something, paying from its own tokens, and keeps
/// the CID of what came back and the cow itself (its stdout).
contract ExampleCowsayClient is ILilypadJobClient {
    using SafeERC20 for IERC20;

    string public constant MODULE_PATH = "lilypad_module.json.tmpl";
    /// @notice What each callback may spend: storing a CID, the cow and an event.
    uint32 public constant CALLBACK_GAS = 700_000;
    /// @notice The most of the cow's stdout brought back: a cow of a short message is about 200 bytes.
    uint32 public constant OUTPUT_LIMIT = 512;

    LilypadJobs public immutable jobs;
    IERC20 public immutable token;
    address public immutable owner;

    mapping(bytes32 => string) public resultsCidOf;
    mapping(bytes32 => string) public cowOf;
    mapping(bytes32 => bool) public cancelled;

    event Asked(bytes32 indexed requestId, string message);
    event Answered(bytes32 indexed requestId, string resultsCid, string cow);
    event Cancelled(bytes32 indexed requestId);

    error NotOwner(address caller);
    error NotTheJobsContract(address caller);
    /// @notice The message has a character the inputs' JSON would have to escape, at byte `index`.
    error BadMessage(uint256 index);

    constructor(address jobs_, address token_) {
        jobs = LilypadJobs(jobs_);
        token = IERC20(token_);
        owner = msg.sender;
    }

    /// @notice Asks for `cowsay <message>` of the module at `moduleRepo`, `moduleCommit`.
    function ask(
        string calldata moduleRepo,
        string calldata moduleCommit,
        string calldata message,
        uint256 payment,
        uint256 relayerFee,
        uint64 deadline,
        uint64 claimWindow
    ) external returns (bytes32 requestId) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        bytes calldata m = bytes(message);
        for (uint256 i = 0; i < m.length; ++i) {
            if (m[i] < 0x20 || m[i] == '"' || m[i] == "\\") revert BadMessage(i);
        }
        // the canonical JSON of the inputs, as JSON.stringify writes {Message: message}
        string memory inputs = string.concat('{"Message":"', message, '"}');
        token.forceApprove(address(jobs), payment);
        requestId = jobs.requestJob(
            LilypadJobs.JobSpec(moduleRepo, moduleCommit, MODULE_PATH, inputs, "stdout", OUTPUT_LIMIT),
            // a relayer stakes on its claim what it would earn by delivering, and is repaid a mediation
            // up to a quarter of the payment
            LilypadJobs.JobTerms(
                payment, relayerFee, deadline, claimWindow, CALLBACK_GAS, uint128(relayerFee), uint128(payment / 4)
            )
        );
        emit Asked(requestId, message);
    }

    function lilypadFulfilled(bytes32 requestId, string calldata resultsCid, bytes calldata output) external {
        if (msg.sender != address(jobs)) revert NotTheJobsContract(msg.sender);
        resultsCidOf[requestId] = resultsCid;
        cowOf[requestId] = string(output);
        emit Answered(requestId, resultsCid, string(output));
    }

    function lilypadCancelled(bytes32 requestId) external {
        if (msg.sender != address(jobs)) revert NotTheJobsContract(msg.sender);
        cancelled[requestId] = true;
        emit Cancelled(requestId);
    }

    /// @notice Sends tokens this contract holds (refunds, what it was funded with) to `to`.
    function withdraw(address to, uint256 amount) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        token.safeTransfer(to, amount);
    }
}
