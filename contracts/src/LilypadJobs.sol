// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Deal, DealHashing, DealState, JobOffer, ResultsSubmitted} from "./DealTypes.sol";
import {ILilypadJobClient} from "./ILilypadJobClient.sol";
import {LilypadSettlement} from "./LilypadSettlement.sol";
import {Signatures} from "./Signatures.sol";
import {UnixfsPath} from "./UnixfsPath.sol";

/// @notice Jobs asked for by contracts. A requester pays for a job up front; a job creator (a relayer)
/// offers it on the mesh, and whoever brings the deal the settlement contract settled for it, its
/// results accepted, pays that job creator what the deal cost it plus the requester's fee, and calls
/// the requester back with the results' CID, and the first bytes of one of their files where the request
/// asked for them. Nothing is taken on a relayer's word: the deal's outcome
/// is read from the settlement contract, its results too or else from the provider's signature, and
/// the job offer the deal names must be for this request, with its module and inputs. After the
/// deadline, an undelivered request is refunded. A relayer that claims a request stakes the request's
/// claim bond, which it loses to the requester if its claim lapses with the request undelivered.
contract LilypadJobs is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using DealHashing for Deal;
    using DealHashing for JobOffer;
    using DealHashing for ResultsSubmitted;

    /// @notice What to run: the strings of a JobOffer (`inputs`: the canonical JSON of the module's inputs),
    /// and what of its results to bring back on chain besides their CID: the first `outputLimit` bytes
    /// (1 to MAX_OUTPUT_BYTES) of the file at `outputPath` in the results folder ("stdout",
    /// "outputs/answer.txt"); none where both are empty.
    struct JobSpec {
        string moduleRepo;
        string moduleCommit;
        string modulePath;
        string inputs;
        string outputPath;
        uint32 outputLimit;
    }

    /// @notice The blocks that prove a request's output from the results' CID (UnixfsPath.readPrefix):
    /// the results folder's, each folder's on the path, the file's and its first children's.
    struct OutputProof {
        string path;
        bytes[] blocks;
    }

    /// @notice Amounts in the settlement's token; times in milliseconds since the Unix epoch, as the
    /// settlement contract counts them.
    struct JobTerms {
        uint256 payment; // taken from the requester: the deal's cost to its job creator and the relayer's fee
        uint256 relayerFee;
        uint64 deadline; // delivered until then, refunded after
        uint64 claimWindow; // how long a claim keeps other relayers off
        uint32 callbackGasLimit;
        uint128 claimBond; // staked by each claim; a claim that lapses undelivered loses it to the requester
        uint128 maxMediatorFee; // the most of a mediation's fee repaid to the relayer; beyond it, the relayer's
    }

    enum RequestStatus {
        None,
        Open,
        Delivered,
        Refunded
    }

    struct Request {
        address requester;
        uint64 deadline;
        RequestStatus status;
        address claimant;
        uint64 claimedUntil;
        uint32 callbackGasLimit;
        address relayer; // the job creator paid on delivery
        uint64 claimWindow;
        uint32 outputLimit;
        uint128 claimBond;
        uint128 forfeited; // lapsed claims' bonds, the requester's
        uint256 payment;
        uint128 relayerFee;
        uint128 maxMediatorFee;
        bytes32 jobHash; // of the spec's five strings
    }

    struct Result {
        bytes32 dealId;
        string resultsCid;
    }

    /// @notice The most gas a request may give each of its callbacks.
    uint32 public constant MAX_CALLBACK_GAS = 2_500_000;
    /// @notice The most bytes of a results file a request may have brought back on chain.
    uint32 public constant MAX_OUTPUT_BYTES = 16_384;
    /// @dev What a callback's CALL costs besides the gas it forwards, with a wide margin.
    uint256 private constant CALL_RESERVE = 10_000;

    LilypadSettlement public immutable settlement;
    IERC20 public immutable token;

    mapping(bytes32 => Request) internal _requests;
    mapping(bytes32 => Result) internal _results;
    /// @notice How many jobs each requester has asked for: what makes its request ids unique.
    mapping(address => uint256) public requestCount;

    event JobRequested(bytes32 indexed requestId, address indexed requester, JobSpec spec, JobTerms terms);
    event Claimed(bytes32 indexed requestId, address indexed relayer, uint64 until, uint128 bond);
    /// @notice A claim ended: its bond went back to its claimant, or to the requester (`forfeited`).
    event ClaimEnded(bytes32 indexed requestId, address indexed relayer, uint128 bond, bool forfeited);
    event Delivered(
        bytes32 indexed requestId, address indexed relayer, bytes32 dealId, string resultsCid, bytes output, bool callbackOk
    );
    event Refunded(bytes32 indexed requestId, address indexed requester, uint256 amount, bool callbackOk);

    error WrongToken(address expected, address actual);
    error DeadlineNotAhead(uint64 deadline, uint256 nowMs);
    error ZeroClaimWindow();
    error FeeAbovePayment(uint256 relayerFee, uint256 payment);
    error AmountTooLarge(uint256 amount);
    error CallbackGasTooHigh(uint32 callbackGasLimit, uint32 max);
    error RequestNotOpen(bytes32 requestId, RequestStatus status);
    error RequestExpired(bytes32 requestId, uint64 deadline, uint256 nowMs);
    error RequestNotExpired(bytes32 requestId, uint64 deadline, uint256 nowMs);
    error AlreadyClaimed(bytes32 requestId, address relayer, uint64 until);
    error DealNotSettled(bytes32 dealId);
    error DealNotAccepted(bytes32 dealId, DealState outcome);
    error ResultsNotOfDeal(bytes32 dealId);
    error ResultsNotByProvider(bytes32 dealId);
    error OfferNotOfDeal(bytes32 jobOfferId, bytes32 offerId);
    error OfferNotByCreator(address author, address jobCreator);
    error OfferForAnotherRequest(bytes32 requestId, uint256 nonce);
    error OfferNotAsRequested(bytes32 requestId);
    error PaymentShort(bytes32 requestId, uint256 needed, uint256 payment);
    error CallbackGasShort(uint256 needed, uint256 left);
    error OutputLimitTooHigh(uint32 outputLimit, uint32 max);
    /// @notice An output needs both its path and its limit.
    error OutputHalfAsked();

    constructor(address settlement_, address token_) {
        address settlementToken = address(LilypadSettlement(settlement_).token());
        if (settlementToken != token_) revert WrongToken(settlementToken, token_);
        settlement = LilypadSettlement(settlement_);
        token = IERC20(token_);
    }

    // ---------------------------------------------------------------- views

    function requestOf(bytes32 requestId)
        external
        view
        returns (RequestStatus status, address requester, address claimant, uint64 claimedUntil, JobTerms memory terms)
    {
        Request storage r = _requests[requestId];
        terms = JobTerms(
            r.payment, r.relayerFee, r.deadline, r.claimWindow, r.callbackGasLimit, r.claimBond, r.maxMediatorFee
        );
        return (r.status, r.requester, r.claimant, r.claimedUntil, terms);
    }

    /// @notice A delivered request's results, the deal that settled them and the job creator paid for them.
    function resultOf(bytes32 requestId) external view returns (string memory resultsCid, bytes32 dealId, address relayer) {
        Result storage r = _results[requestId];
        return (r.resultsCid, r.dealId, _requests[requestId].relayer);
    }

    /// @notice The first `limit` bytes of the file at `path` under the results folder `resultsCid`,
    /// proven by `blocks` (see OutputProof). With resultOf's CID, it reads a delivered output again.
    function readOutput(string calldata resultsCid, string calldata path, bytes[] calldata blocks, uint256 limit)
        external
        pure
        returns (bytes memory)
    {
        return UnixfsPath.readPrefix(resultsCid, path, blocks, limit);
    }

    /// @notice A job offer's id: its EIP-712 hash under the settlement contract's domain, which a deal
    /// names as its `jobOfferId`.
    function jobOfferId(JobOffer calldata offer) external view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(settlement.domainSeparator(), offer.hash());
    }

    // ---------------------------------------------------------------- requests

    /// @notice Asks for a job, paying `terms.payment` now (approve it first). The caller is the requester,
    /// and the contract called back. Not guarded against reentry: a callback may ask for the next job.
    function requestJob(JobSpec calldata spec, JobTerms calldata terms) external returns (bytes32 requestId) {
        uint256 nowMs = _nowMs();
        if (terms.deadline <= nowMs) revert DeadlineNotAhead(terms.deadline, nowMs);
        if (terms.claimWindow == 0) revert ZeroClaimWindow();
        if (terms.relayerFee > terms.payment) revert FeeAbovePayment(terms.relayerFee, terms.payment);
        if (terms.relayerFee > type(uint128).max) revert AmountTooLarge(terms.relayerFee);
        if (terms.callbackGasLimit > MAX_CALLBACK_GAS) {
            revert CallbackGasTooHigh(terms.callbackGasLimit, MAX_CALLBACK_GAS);
        }
        if (spec.outputLimit > MAX_OUTPUT_BYTES) revert OutputLimitTooHigh(spec.outputLimit, MAX_OUTPUT_BYTES);
        if ((spec.outputLimit == 0) != (bytes(spec.outputPath).length == 0)) revert OutputHalfAsked();
        requestId = keccak256(abi.encode(address(this), block.chainid, msg.sender, requestCount[msg.sender]++));
        _requests[requestId] = Request({
            requester: msg.sender,
            deadline: terms.deadline,
            status: RequestStatus.Open,
            claimant: address(0),
            claimedUntil: 0,
            callbackGasLimit: terms.callbackGasLimit,
            relayer: address(0),
            claimWindow: terms.claimWindow,
            outputLimit: spec.outputLimit,
            claimBond: terms.claimBond,
            forfeited: 0,
            payment: terms.payment,
            relayerFee: uint128(terms.relayerFee),
            maxMediatorFee: terms.maxMediatorFee,
            jobHash: _jobHash(spec.moduleRepo, spec.moduleCommit, spec.modulePath, spec.inputs, spec.outputPath)
        });
        token.safeTransferFrom(msg.sender, address(this), terms.payment);
        emit JobRequested(requestId, msg.sender, spec, terms);
    }

    /// @notice Keeps other relayers off the request while the caller works on it, until the claim
    /// window passes (or the deadline, if sooner), for the request's claim bond (approve it first).
    /// The bond comes back when the request is delivered while the claim lives, or with the claimant's
    /// own deal; a claim that lapses undelivered loses it to the requester, so a relayer that claims
    /// and never delivers pays for the delay it causes. Delivery needs no claim.
    function claim(bytes32 requestId) external nonReentrant {
        Request storage r = _requests[requestId];
        if (r.status != RequestStatus.Open) revert RequestNotOpen(requestId, r.status);
        uint256 nowMs = _nowMs();
        uint64 deadline = r.deadline;
        if (nowMs >= deadline) revert RequestExpired(requestId, deadline, nowMs);
        if (nowMs < r.claimedUntil) revert AlreadyClaimed(requestId, r.claimant, r.claimedUntil);
        _endClaim(requestId, r, true);
        uint256 until = nowMs + r.claimWindow;
        if (until > deadline) until = deadline;
        r.claimant = msg.sender;
        r.claimedUntil = uint64(until);
        uint128 bond = r.claimBond;
        if (bond != 0) token.safeTransferFrom(msg.sender, address(this), bond);
        emit Claimed(requestId, msg.sender, uint64(until), bond);
    }

    /// @notice Delivers the results of a deal settled for the request: pays the deal's job creator what
    /// the deal cost it and the relayer's fee, gives the rest back to the requester, and calls the
    /// requester back. Anyone may bring it; the job creator is paid all the same. The results are those
    /// the settlement holds for the deal: committed by the provider (or by anyone, with its signature),
    /// or named by a challenge. `output` proves the output the request asked for from them (its path is
    /// the request's); a request that asked for none takes an empty one.
    function deliver(
        bytes32 requestId,
        Deal calldata deal,
        JobOffer calldata offer,
        string calldata resultsCid,
        OutputProof calldata output
    ) external nonReentrant {
        (bytes32 domain, bytes32 dealId, DealState outcome) = _accepted(requestId, deal);
        if (keccak256(bytes(resultsCid)) != settlement.resultsCidHash(dealId)) revert ResultsNotOfDeal(dealId);
        _deliver(requestId, domain, dealId, outcome, deal, offer, resultsCid, output);
    }

    /// @notice As deliver, for a deal accepted without its results on chain (the settlement records a
    /// CID only on a commitment or a challenge): the provider's signed results of the deal stand for
    /// them. Where the settlement does hold a CID for the deal, they must be of that CID.
    function deliverWithResults(
        bytes32 requestId,
        Deal calldata deal,
        JobOffer calldata offer,
        ResultsSubmitted calldata results,
        bytes calldata signature,
        OutputProof calldata output
    ) external nonReentrant {
        (bytes32 domain, bytes32 dealId, DealState outcome) = _accepted(requestId, deal);
        bytes32 recorded = settlement.resultsCidHash(dealId);
        if (results.dealId != dealId || (recorded != 0 && recorded != keccak256(bytes(results.resultsCid)))) {
            revert ResultsNotOfDeal(dealId);
        }
        address provider = deal.resourceProvider;
        address signer = _signer(MessageHashUtils.toTypedDataHash(domain, results.hash()), signature);
        if (results.author != provider || signer != provider || signer == address(0)) {
            revert ResultsNotByProvider(dealId);
        }
        _deliver(requestId, domain, dealId, outcome, deal, offer, results.resultsCid, output);
    }

    /// @notice Gives an undelivered request's payment back to its requester once the deadline has
    /// passed, and tells the requester. Anyone may call it.
    function refund(bytes32 requestId) external nonReentrant {
        Request storage r = _requests[requestId];
        if (r.status != RequestStatus.Open) revert RequestNotOpen(requestId, r.status);
        uint256 nowMs = _nowMs();
        if (nowMs <= r.deadline) revert RequestNotExpired(requestId, r.deadline, nowMs);
        r.status = RequestStatus.Refunded;
        // every claim ends by the deadline: one still standing lapsed undelivered
        _endClaim(requestId, r, true);
        address requester = r.requester;
        uint256 amount = r.payment + r.forfeited;
        token.safeTransfer(requester, amount);
        bool ok = _callBack(requester, r.callbackGasLimit, abi.encodeCall(ILilypadJobClient.lilypadCancelled, (requestId)));
        emit Refunded(requestId, requester, amount, ok);
    }

    // ---------------------------------------------------------------- internals

    /// @dev The settlement's domain, and the deal's id and outcome, once the request is open and the
    /// deal settled with its results accepted.
    function _accepted(bytes32 requestId, Deal calldata deal)
        internal
        view
        returns (bytes32 domain, bytes32 dealId, DealState outcome)
    {
        Request storage r = _requests[requestId];
        if (r.status != RequestStatus.Open) revert RequestNotOpen(requestId, r.status);
        uint256 nowMs = _nowMs();
        if (nowMs > r.deadline) revert RequestExpired(requestId, r.deadline, nowMs);
        domain = settlement.domainSeparator();
        dealId = MessageHashUtils.toTypedDataHash(domain, deal.hash());
        DealState state;
        (state, outcome,,,) = settlement.dealRecord(dealId);
        if (state != DealState.Settled) revert DealNotSettled(dealId);
        if (outcome != DealState.Accepted && outcome != DealState.MediationAccepted) {
            revert DealNotAccepted(dealId, outcome);
        }
    }

    /// @dev Checks that the deal's job offer is the request's and reads the output, then pays, records
    /// and calls back.
    function _deliver(
        bytes32 requestId,
        bytes32 domain,
        bytes32 dealId,
        DealState outcome,
        Deal calldata deal,
        JobOffer calldata offer,
        string calldata resultsCid,
        OutputProof calldata output
    ) internal {
        Request storage r = _requests[requestId];
        bytes32 offerId = MessageHashUtils.toTypedDataHash(domain, offer.hash());
        if (offerId != deal.jobOfferId) revert OfferNotOfDeal(deal.jobOfferId, offerId);
        if (offer.author != deal.jobCreator) revert OfferNotByCreator(offer.author, deal.jobCreator);
        if (offer.nonce != uint256(requestId)) revert OfferForAnotherRequest(requestId, offer.nonce);
        // a request carries no input data: a job that mounted some is not the job asked for; and the
        // output's path is the request's only if the hash of the offer's strings and it is the request's
        if (
            _jobHash(offer.moduleRepo, offer.moduleCommit, offer.modulePath, offer.inputs, output.path) != r.jobHash
                || bytes(offer.inputsCid).length != 0
        ) revert OfferNotAsRequested(requestId);
        bytes memory bytesOut =
            bytes(output.path).length == 0 ? bytes("") : UnixfsPath.readPrefix(resultsCid, output.path, output.blocks, r.outputLimit);
        uint256 due = _cost(deal, outcome, r.maxMediatorFee) + r.relayerFee;
        uint256 payment = r.payment;
        if (due > payment) revert PaymentShort(requestId, due, payment);

        r.status = RequestStatus.Delivered;
        r.relayer = deal.jobCreator;
        _results[requestId] = Result(dealId, resultsCid);
        _endClaim(requestId, r, _nowMs() >= r.claimedUntil && r.claimant != deal.jobCreator);
        address requester = r.requester;
        token.safeTransfer(deal.jobCreator, due);
        uint256 back = payment - due + r.forfeited;
        if (back > 0) token.safeTransfer(requester, back);
        bool ok = _callBack(
            requester,
            r.callbackGasLimit,
            abi.encodeCall(ILilypadJobClient.lilypadFulfilled, (requestId, resultsCid, bytesOut))
        );
        emit Delivered(requestId, deal.jobCreator, dealId, resultsCid, bytesOut, ok);
    }

    /// @dev Ends the request's standing claim, if any: its bond goes to the requester's side of the
    /// request (`forfeited`, paid out with the request) or back to its claimant.
    function _endClaim(bytes32 requestId, Request storage r, bool forfeit) internal {
        address claimant = r.claimant;
        if (claimant == address(0)) return;
        uint128 bond = r.claimBond;
        r.claimant = address(0);
        if (forfeit) {
            r.forfeited += bond;
        } else if (bond != 0) {
            token.safeTransfer(claimant, bond);
        }
        emit ClaimEnded(requestId, claimant, bond, forfeit);
    }

    /// @dev What the settlement took from the deal's job creator for this outcome, net of what it paid
    /// back (LilypadSettlement._payouts and _pay): price and solver fee, and the mediator fee of a
    /// mediated deal, less the wei a quorum's even split of it leaves over, which go back to the creator.
    /// Of a mediation no more than `maxMediatorFee` is repaid: the relayer chose the mediators and
    /// challenged, so a relayer and a mediator in league cannot take the requester's change as a fee.
    function _cost(Deal calldata d, DealState outcome, uint256 maxMediatorFee) internal pure returns (uint256 cost) {
        cost = d.price + d.solverFee;
        if (outcome == DealState.MediationAccepted) {
            uint256 fee = d.mediatorFee;
            if (d.quorum > 1) fee -= fee % d.quorum;
            cost += fee < maxMediatorFee ? fee : maxMediatorFee;
        }
    }

    function _jobHash(
        string calldata repo,
        string calldata commit,
        string calldata path,
        string calldata inputs,
        string calldata outputPath
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(repo, commit, path, inputs, outputPath));
    }

    /// @dev Calls the requester with `gasLimit` gas, never less: a CALL forwards at most 63/64 of the gas
    /// left (EIP-150), so a sender of too little gas could otherwise make the callback fail while the
    /// delivery stands. Nothing it returns is copied, so a long revert reason costs nothing here. A
    /// requester with no code (an account) is not called.
    function _callBack(address target, uint32 gasLimit, bytes memory data) internal returns (bool ok) {
        if (target.code.length == 0) return false;
        uint256 needed = uint256(gasLimit) * 64 / 63 + CALL_RESERVE;
        if (gasleft() < needed) revert CallbackGasShort(needed, gasleft());
        assembly ("memory-safe") {
            ok := call(gasLimit, target, 0, add(data, 0x20), mload(data), 0, 0)
        }
    }

    /// @dev The signer of a signature as the settlement contract reads it; zero for a bad one.
    function _signer(bytes32 digest, bytes calldata signature) internal pure returns (address) {
        (address signer, bool valid) = Signatures.recover(digest, signature);
        return valid ? signer : address(0);
    }

    function _nowMs() internal view returns (uint256) {
        return block.timestamp * 1000;
    }
}
