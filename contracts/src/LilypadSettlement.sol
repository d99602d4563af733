// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Escrow} from "./Escrow.sol";
import {MediatorStakes} from "./MediatorStakes.sol";
import {Signatures} from "./Signatures.sol";
import {
    AcceptedDeal,
    Deal,
    DealHashing,
    DealState,
    MediationVerdict,
    ResultsAccepted,
    ResultsChallenged,
    ResultsSubmitted,
    Role,
    SignedDeal
} from "./DealTypes.sol";

/// @notice Escrow and settlement of deals (DESIGN §6 and §8). Deals are agreed off chain; the chain
/// sees a deal only when it settles, unless a party takes one of the slow paths: a results commitment,
/// a challenge (which locks the deal's funds), the judge drawn from the deal's mediators taking the
/// case, a deadline claim. Every path takes the signed messages as
/// evidence and checks their EIP-712 signatures; every deal settles at most once; every payout is an
/// event. Settlement moves funds between deposits inside the contract, never to an outside address.
contract LilypadSettlement is MediatorStakes, EIP712 {
    using DealHashing for Deal;
    using DealHashing for ResultsSubmitted;
    using DealHashing for ResultsAccepted;
    using DealHashing for ResultsChallenged;
    using DealHashing for MediationVerdict;

    struct DealRecord {
        DealState state; // JobOffered (never seen), ResultsSubmitted, Mediating or Settled
        DealState outcome; // the outcome that settled it
        bool locked; // its funds were taken from the deposits at agreement (lockDeal)
        address mediator; // the judge, once it took the case: it answers for the mediate deadline
        bool caseTaken;
        uint64 challengedAt; // the block of the challenge, whose hash draws the judge
    }

    mapping(bytes32 => DealRecord) internal _deals;
    /// @notice A quorum deal's votes so far: verdicts that the provider was right, and that it was not.
    struct Tally {
        uint8 upheld;
        uint8 overturned;
    }

    mapping(bytes32 => Tally) public tallyOf;
    /// @dev What each mediator of a quorum deal did in its mediation (see the PANEL_ constants).
    mapping(bytes32 => mapping(address => uint8)) internal _panel;
    /// @notice keccak256 of the results CID committed by the provider or named by the challenge
    mapping(bytes32 => bytes32) public resultsCidHash;

    event DealLocked(bytes32 indexed dealId, uint256 jobCreatorAmount, uint256 resourceProviderAmount);
    event ResultsCommitted(bytes32 indexed dealId, address indexed resourceProvider, string resultsCid);
    event Challenged(bytes32 indexed dealId, string resultsCid);
    event CaseTaken(bytes32 indexed dealId, address indexed mediator);
    /// @notice A mediator's verdict on a quorum deal, counted.
    event Voted(bytes32 indexed dealId, address indexed mediator, bool providerAtFault);
    /// @notice Only for a settlement in which nothing was paid out; otherwise its Payout events tell it.
    event DealSettled(bytes32 indexed dealId, DealState outcome);
    /// @notice One movement of a settlement: `outcome` is its reason.
    event Payout(bytes32 indexed dealId, address indexed payee, Role role, uint256 amount, DealState outcome);
    event Slashed(bytes32 indexed dealId, Role from, Role to, uint256 amount);
    event SettlementSkipped(bytes32 indexed dealId);
    /// @notice A batch entry left unsettled: `reason` is the selector of the error settleAccepted would
    /// revert with for it.
    event SettlementFailed(bytes32 indexed dealId, bytes4 reason);
    /// @notice The provider signed results with another CID than the one it committed.
    event Equivocation(bytes32 indexed dealId, bytes32 committedCidHash, string challengedCid);

    error BadSignature(bytes32 digest);
    error WrongSigner(address expected, address actual);
    error WrongAuthor(address expected, address actual);
    error WrongDeal(bytes32 expected, bytes32 actual);
    error AlreadySettled(bytes32 dealId);
    error AlreadyLocked(bytes32 dealId);
    error DeadlineNotPassed(bytes32 dealId, uint64 deadline, uint256 nowMs);
    error DeadlinePassed(bytes32 dealId, uint64 deadline, uint256 nowMs);
    error ResultsAlreadyCommitted(bytes32 dealId);
    error NoResultsCommitted(bytes32 dealId);
    error AlreadyChallenged(bytes32 dealId);
    error NotChallenged(bytes32 dealId);
    error ResultsMismatch(bytes32 dealId);
    error NotTheMediator(bytes32 dealId, address caller);
    error NoMediators(bytes32 dealId);
    error BadQuorum(bytes32 dealId);
    error AlreadyVoted(bytes32 dealId, address mediator);
    error CaseNotTaken(bytes32 dealId);
    error NotClaimant(bytes32 dealId, address caller);
    error Undercollateralised(bytes32 dealId);
    error BadDeadlines(bytes32 dealId);
    error NotAnOutcome(DealState state);

    uint256 private constant C = uint256(Role.JobCreator);
    uint256 private constant RP = uint256(Role.ResourceProvider);
    uint256 private constant M = uint256(Role.Mediator);
    uint256 private constant S = uint256(Role.Solver);

    /// @notice How many blocks a drawn judge has to take the case before another is drawn (the blocks
    /// whose hashes the EVM keeps).
    uint256 public constant DRAW_BLOCKS = 256;

    uint8 private constant PANEL_TAKEN = 1; // took the case: answers for the mediate deadline
    uint8 private constant PANEL_UPHELD = 2; // voted that the provider's results were right
    uint8 private constant PANEL_OVERTURNED = 3; // voted that they were not

    constructor(IERC20 token_, uint64 withdrawDelay_) Escrow(token_, withdrawDelay_) EIP712("Lilypad", "1") {}

    // ---------------------------------------------------------------- views

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice A deal's id: its EIP-712 hash under this contract's domain, as the wire computes it.
    function dealId(Deal calldata deal) external view returns (bytes32) {
        return _hashTypedDataV4(deal.hash());
    }

    function dealRecord(bytes32 id)
        external
        view
        returns (DealState state, DealState outcome, bool locked, address mediator, bool caseTaken)
    {
        DealRecord memory r = _deals[id];
        return (r.state, r.outcome, r.locked, r.mediator, r.caseTaken);
    }

    /// @notice What each role receives for an outcome, in Role order (mirrors settle() in TypeScript).
    function payouts(Deal calldata deal, DealState outcome) external pure returns (uint256[4] memory p) {
        (p,,,) = _payouts(deal, outcome);
    }

    // ---------------------------------------------------------------- happy path

    /// @notice Settles a deal whose results the job creator accepted.
    function settleAccepted(SignedDeal calldata signed, ResultsAccepted calldata acceptance, bytes calldata signature)
        external
        nonReentrant
    {
        bytes32 id = _hashTypedDataV4(signed.deal.hash());
        DealRecord memory r = _deals[id];
        if (r.state == DealState.Settled) revert AlreadySettled(id);
        _checkAccepted(id, signed, acceptance, signature);
        if (!_acceptsRecordedResults(id, r, acceptance)) revert ResultsMismatch(id);
        _settle(id, signed.deal, r, DealState.Accepted, address(0));
    }

    /// @notice Settles many accepted deals in one transaction. Deals already settled are skipped, and an
    /// entry that fails its checks or that a deposit cannot cover is left unsettled, each reported by
    /// an event: the batch settles what it can and is not lost to one bad entry.
    function settleBatch(AcceptedDeal[] calldata items) external nonReentrant returns (uint256 settled) {
        uint256 freeMemory;
        assembly ("memory-safe") {
            freeMemory := mload(0x40)
        }
        for (uint256 i = 0; i < items.length; ++i) {
            // Nothing allocated for one entry outlives it: reuse its memory instead of growing it.
            assembly ("memory-safe") {
                mstore(0x40, freeMemory)
            }
            AcceptedDeal calldata item = items[i];
            bytes32 id = _hashTypedDataV4(item.signed.deal.hash());
            DealRecord memory r = _deals[id];
            if (r.state == DealState.Settled) {
                emit SettlementSkipped(id);
                continue;
            }
            bytes4 fault = _acceptedFault(id, item.signed, item.acceptance, item.acceptanceSignature);
            if (fault == 0 && !_acceptsRecordedResults(id, r, item.acceptance)) fault = ResultsMismatch.selector;
            if (fault == 0 && !r.locked && !_tryTake(item.signed.deal)) fault = InsufficientDeposit.selector;
            if (fault != 0) {
                emit SettlementFailed(id, fault);
                continue;
            }
            _pay(id, item.signed.deal, r, DealState.Accepted, address(0));
            ++settled;
        }
    }

    /// @notice Takes both parties' locked amounts from their deposits now, at either party's request, for
    /// a deal too large to leave to first-come-first-served settlement against free deposits.
    function lockDeal(SignedDeal calldata signed) external nonReentrant {
        (bytes32 id, DealRecord memory r) = _open(signed);
        Deal calldata d = signed.deal;
        if (msg.sender != d.jobCreator && msg.sender != d.resourceProvider) revert NotClaimant(id, msg.sender);
        if (r.locked) revert AlreadyLocked(id);
        _lock(id, d);
        _deals[id].locked = true;
    }

    // ---------------------------------------------------------------- optimistic disputes (DESIGN §8)

    /// @notice The provider's results commitment, before the submit deadline: it defeats a TimeoutSubmit
    /// claim and is what a TimeoutJudge claim needs.
    function commitResults(SignedDeal calldata signed, ResultsSubmitted calldata results, bytes calldata signature)
        external
        nonReentrant
    {
        (bytes32 id, DealRecord memory r) = _open(signed);
        Deal calldata d = signed.deal;
        if (r.state == DealState.ResultsSubmitted) revert ResultsAlreadyCommitted(id);
        if (r.state == DealState.Mediating) revert AlreadyChallenged(id);
        _notAfter(id, d.submitDeadline);
        if (results.dealId != id) revert WrongDeal(id, results.dealId);
        _checkMessage(results.hash(), signature, results.author, d.resourceProvider);
        _deals[id].state = DealState.ResultsSubmitted;
        resultsCidHash[id] = keccak256(bytes(results.resultsCid));
        emit ResultsCommitted(id, d.resourceProvider, results.resultsCid);
    }

    /// @notice The job creator's challenge, before the judge deadline; the judge is drawn from the deal's mediators.
    /// Unless it is about the results the provider committed, it comes with the provider's signed
    /// ResultsSubmitted for the CID it names. If the provider committed another CID, it signed two
    /// results for one deal: the deal settles at once against it (MediationRejected, no mediator).
    function challengeResults(
        SignedDeal calldata signed,
        ResultsChallenged calldata challenge,
        bytes calldata signature,
        ResultsSubmitted calldata results,
        bytes calldata resultsSignature
    ) external nonReentrant {
        (bytes32 id, DealRecord memory r) = _open(signed);
        Deal calldata d = signed.deal;
        if (r.state == DealState.Mediating) revert AlreadyChallenged(id);
        _notAfter(id, d.judgeDeadline);
        if (challenge.dealId != id) revert WrongDeal(id, challenge.dealId);
        _checkMessage(challenge.hash(), signature, challenge.author, d.jobCreator);
        if (d.mediators.length == 0) revert NoMediators(id);
        bytes32 cidHash = keccak256(bytes(challenge.resultsCid));
        bool committed = r.state == DealState.ResultsSubmitted;
        if (!committed || resultsCidHash[id] != cidHash) {
            if (results.dealId != id) revert WrongDeal(id, results.dealId);
            if (keccak256(bytes(results.resultsCid)) != cidHash) revert ResultsMismatch(id);
            _checkMessage(results.hash(), resultsSignature, results.author, d.resourceProvider);
            if (committed) {
                emit Equivocation(id, resultsCidHash[id], challenge.resultsCid);
                _settle(id, d, r, DealState.MediationRejected, address(0));
                return;
            }
            resultsCidHash[id] = cidHash;
        }
        // The challenge locks the deal's funds: a mediator re-runs the job only for a deal whose fee
        // is sure to be paid, never for one made up by keys with no deposits behind them.
        if (!r.locked) _lock(id, d);
        _deals[id] = DealRecord(DealState.Mediating, r.outcome, true, address(0), false, uint64(block.number));
        emit Challenged(id, challenge.resultsCid);
    }

    /// @notice The drawn judge takes the case, in the first half of the mediate window (from the judge
    /// deadline): from then on it is the deal's judge, it answers for the mediate deadline (see
    /// _slashSilentMediator), and only a case taken can be settled by a verdict. Taking it is the
    /// mediator's own act, so nobody can make a mediator liable for a challenge it never heard of;
    /// taking it early is what commits it.
    function takeCase(SignedDeal calldata signed) external nonReentrant {
        (bytes32 id, DealRecord memory r) = _open(signed);
        if (r.state != DealState.Mediating) revert NotChallenged(id);
        Deal calldata d = signed.deal;
        _notAfter(id, d.judgeDeadline + (d.mediateDeadline - d.judgeDeadline) / 2);
        if (d.quorum > 1) return _joinPanel(id, d);
        address judge = r.caseTaken ? r.mediator : _drawn(id, d, r.challengedAt);
        if (msg.sender != judge) revert NotTheMediator(id, msg.sender);
        if (r.caseTaken) return;
        _deals[id].mediator = msg.sender;
        _deals[id].caseTaken = true;
        emit CaseTaken(id, msg.sender);
    }

    /// @notice The judge of a deal in mediation: the mediator that took the case, or else the one the
    /// draw names in this block (none in the challenge's own block, whose hash is not known yet). Read
    /// it at the pending block to learn who may take the case next.
    function judgeOf(Deal calldata deal) external view returns (address) {
        bytes32 id = _hashTypedDataV4(deal.hash());
        DealRecord memory r = _deals[id];
        if (r.caseTaken) return r.mediator;
        if (r.state != DealState.Mediating) return address(0);
        return _drawn(id, deal, r.challengedAt);
    }

    /// @notice Settles a challenged deal with the verdict of the judge that took the case. On a quorum
    /// deal, counts the verdict of one of its mediators, and settles the deal on the `quorum`-th that agree.
    function settleVerdict(SignedDeal calldata signed, MediationVerdict calldata verdict, bytes calldata signature)
        external
        nonReentrant
    {
        (bytes32 id, DealRecord memory r) = _open(signed);
        if (r.state != DealState.Mediating) revert NotChallenged(id);
        if (signed.deal.quorum > 1) return _vote(id, signed.deal, r, verdict, signature);
        if (!r.caseTaken) revert CaseNotTaken(id);
        _notAfter(id, signed.deal.mediateDeadline);
        if (verdict.dealId != id) revert WrongDeal(id, verdict.dealId);
        _checkMessage(verdict.hash(), signature, verdict.author, r.mediator);
        if (keccak256(bytes(verdict.resultsCid)) != resultsCidHash[id]) revert ResultsMismatch(id);
        DealState outcome = verdict.providerAtFault ? DealState.MediationRejected : DealState.MediationAccepted;
        _settle(id, signed.deal, r, outcome, r.mediator);
    }

    /// @notice The claim that no results were committed before the submit deadline: the job creator's,
    /// or, once the mediate deadline has passed, the provider's, which closes a deal the creator left
    /// open (a locked one would otherwise hold the provider's collateral for good).
    function claimTimeoutSubmit(SignedDeal calldata signed) external nonReentrant {
        (bytes32 id, DealRecord memory r) = _open(signed);
        Deal calldata d = signed.deal;
        uint64 deadline;
        if (msg.sender == d.jobCreator) deadline = d.submitDeadline;
        else if (msg.sender == d.resourceProvider) deadline = d.mediateDeadline;
        else revert NotClaimant(id, msg.sender);
        if (r.state == DealState.ResultsSubmitted) revert ResultsAlreadyCommitted(id);
        if (r.state == DealState.Mediating) revert AlreadyChallenged(id);
        _after(id, deadline);
        _settle(id, d, r, DealState.TimeoutSubmit, address(0));
    }

    /// @notice The provider's claim that its committed results were neither accepted nor challenged in time.
    function claimTimeoutJudge(SignedDeal calldata signed) external nonReentrant {
        (bytes32 id, DealRecord memory r) = _open(signed);
        Deal calldata d = signed.deal;
        if (msg.sender != d.resourceProvider) revert NotClaimant(id, msg.sender);
        if (r.state == DealState.Mediating) revert AlreadyChallenged(id);
        if (r.state != DealState.ResultsSubmitted) revert NoResultsCommitted(id);
        _after(id, d.judgeDeadline);
        _settle(id, d, r, DealState.TimeoutJudge, address(0));
    }

    /// @notice Either party's claim that the judge gave no verdict before the mediate deadline.
    /// Both get back what they locked, and a mediator that took the case and that the deal bound (see
    /// MediatorStakes) pays each what its verdict could have: see _slashSilentMediator.
    function claimTimeoutMediate(SignedDeal calldata signed) external nonReentrant {
        (bytes32 id, DealRecord memory r) = _open(signed);
        Deal calldata d = signed.deal;
        if (msg.sender != d.jobCreator && msg.sender != d.resourceProvider) revert NotClaimant(id, msg.sender);
        if (r.state != DealState.Mediating) revert NotChallenged(id);
        _after(id, d.mediateDeadline);
        _settle(id, d, r, DealState.TimeoutMediate, address(0));
    }

    // ---------------------------------------------------------------- internals

    /// @dev The deal's id and record, once its signatures and terms check out and it is not settled.
    function _open(SignedDeal calldata signed) internal view returns (bytes32 id, DealRecord memory r) {
        id = _hashTypedDataV4(signed.deal.hash());
        r = _deals[id];
        if (r.state == DealState.Settled) revert AlreadySettled(id);
        // a deal the chain has recorded was agreed: the call that recorded it checked both parties'
        // consent and the terms. So a creator that never received the provider's co-signature can
        // still challenge results the provider committed, and claim what the deal owes it.
        if (r.state == DealState.JobOffered && !r.locked) _checkDeal(id, signed);
    }

    /// @dev A party that sends the transaction itself consents by doing so: its deal signature is not
    /// checked (and may be empty), which saves a recovery on the common path of a provider settling.
    function _checkDeal(bytes32 id, SignedDeal calldata signed) internal view {
        Deal calldata d = signed.deal;
        if (msg.sender != d.jobCreator) _checkSigner(id, signed.jobCreatorSignature, d.jobCreator);
        if (msg.sender != d.resourceProvider) _checkSigner(id, signed.resourceProviderSignature, d.resourceProvider);
        _checkTerms(id, d);
    }

    /// @dev On the happy path the job creator's signed acceptance names the deal by its id, the EIP-712
    /// hash of all its terms: that signature binds the creator to the deal, so its deal signature is
    /// not checked again (one recovery less per job in a batch). _acceptedFault makes the same checks
    /// in the same order.
    function _checkAccepted(bytes32 id, SignedDeal calldata signed, ResultsAccepted calldata a, bytes calldata signature)
        internal
        view
    {
        Deal calldata d = signed.deal;
        _checkAcceptance(id, d, a, signature);
        if (msg.sender != d.resourceProvider) _checkSigner(id, signed.resourceProviderSignature, d.resourceProvider);
        _checkTerms(id, d);
    }

    /// @dev The checks of _checkAccepted, without reverting: the selector of the first error it would
    /// revert with, or zero.
    function _acceptedFault(bytes32 id, SignedDeal calldata signed, ResultsAccepted calldata a, bytes calldata signature)
        internal
        view
        returns (bytes4)
    {
        Deal calldata d = signed.deal;
        if (a.dealId != id) return WrongDeal.selector;
        if (a.author != d.jobCreator) return WrongAuthor.selector;
        bytes4 fault = _signerFault(_hashTypedDataV4(a.hash()), signature, d.jobCreator);
        if (fault == 0 && msg.sender != d.resourceProvider) {
            fault = _signerFault(id, signed.resourceProviderSignature, d.resourceProvider);
        }
        return fault == 0 ? _termsFault(d) : fault;
    }

    /// @dev Once results are on record (committed, or challenged), an acceptance settles only those: an
    /// acceptance of other results is of results the provider also signed, two CIDs for one deal, and
    /// the creator's challenge with them settles the deal against the provider. No storage is read on
    /// the happy path, where nothing is on record.
    function _acceptsRecordedResults(bytes32 id, DealRecord memory r, ResultsAccepted calldata a)
        internal
        view
        returns (bool)
    {
        if (r.state != DealState.ResultsSubmitted && r.state != DealState.Mediating) return true;
        return resultsCidHash[id] == keccak256(bytes(a.resultsCid));
    }

    function _checkTerms(bytes32 id, Deal calldata d) internal view {
        bytes4 fault = _termsFault(d);
        if (fault == Undercollateralised.selector) revert Undercollateralised(id);
        if (fault == BadDeadlines.selector) revert BadDeadlines(id);
        if (fault == BadQuorum.selector) revert BadQuorum(id);
    }

    /// @dev Besides ordered deadlines, a deal must end within the withdrawal delay of its agree
    /// deadline: no deal, and no lock (see claimTimeoutSubmit), stays open longer than that.
    function _termsFault(Deal calldata d) internal view returns (bytes4) {
        if (d.paymentCollateral < d.price + d.solverFee + d.mediatorFee || d.timeoutCollateral < d.mediatorFee) {
            return Undercollateralised.selector;
        }
        // a quorum of k > 1 verdicts needs k mediators (a deal with none has no challenge to settle: NoMediators)
        if (d.quorum > 1 && d.quorum > d.mediators.length) return BadQuorum.selector;
        uint256 agree = d.agreeDeadline;
        uint256 mediate = d.mediateDeadline;
        uint256 judge = d.judgeDeadline;
        uint256 submit = d.submitDeadline;
        unchecked {
            // uint64 deadlines: no sum overflows
            if (d.expiry > agree || agree > submit || submit > judge || judge > mediate
                    || mediate > agree + uint256(withdrawDelay) * 1000) return BadDeadlines.selector;
        }
        return 0;
    }

    function _checkAcceptance(bytes32 id, Deal calldata d, ResultsAccepted calldata a, bytes calldata signature)
        internal
        view
    {
        if (a.dealId != id) revert WrongDeal(id, a.dealId);
        _checkMessage(a.hash(), signature, a.author, d.jobCreator);
    }

    function _checkMessage(bytes32 structHash, bytes calldata signature, address author, address expected)
        internal
        view
    {
        if (author != expected) revert WrongAuthor(expected, author);
        _checkSigner(_hashTypedDataV4(structHash), signature, expected);
    }

    function _checkSigner(bytes32 digest, bytes calldata signature, address expected) internal pure {
        (address signer, bool valid) = Signatures.recover(digest, signature);
        if (!valid) revert BadSignature(digest);
        if (signer != expected) revert WrongSigner(expected, signer);
    }

    function _signerFault(bytes32 digest, bytes calldata signature, address expected) internal pure returns (bytes4) {
        (address signer, bool valid) = Signatures.recover(digest, signature);
        if (!valid) return BadSignature.selector;
        if (signer != expected) return WrongSigner.selector;
        return 0;
    }

    /// @dev The judge drawn from the deal's mediators by the hash of a block after the challenge, which
    /// neither party knows when it challenges (a contract that reverts unless its own mediator is drawn
    /// cannot see it). A judge that does not take the case within DRAW_BLOCKS blocks is replaced: the
    /// draw moves on to the hash of the block DRAW_BLOCKS later, in rounds, so a seed is always readable.
    function _drawn(bytes32 id, Deal calldata d, uint64 challengedAt) internal view returns (address) {
        if (block.number <= challengedAt) return address(0);
        uint256 round = (block.number - 1 - challengedAt) / DRAW_BLOCKS;
        bytes32 seed = blockhash(challengedAt + round * DRAW_BLOCKS);
        return d.mediators[uint256(keccak256(abi.encode(id, seed, round))) % d.mediators.length];
    }

    function _nowMs() internal view returns (uint256) {
        return block.timestamp * 1000;
    }

    function _notAfter(bytes32 id, uint64 deadline) internal view {
        if (_nowMs() > deadline) revert DeadlinePassed(id, deadline, _nowMs());
    }

    function _after(bytes32 id, uint64 deadline) internal view {
        if (_nowMs() <= deadline) revert DeadlineNotPassed(id, deadline, _nowMs());
    }

    /// @dev The outcome table of DESIGN §6, exactly as src/state-machines/settle.ts computes it: every
    /// outcome pays out what the deal locked; slashed collateral goes to the injured party.
    function _payouts(Deal calldata d, DealState outcome)
        internal
        pure
        returns (uint256[4] memory p, Role slashFrom, Role slashTo, uint256 slashed)
    {
        if (outcome == DealState.Accepted) {
            p[RP] = d.price + d.resultsCollateral + d.timeoutCollateral;
            p[S] = d.solverFee;
            p[C] = d.paymentCollateral - d.price - d.solverFee + d.jobCreatorTimeoutCollateral;
        } else if (outcome == DealState.MediationAccepted) {
            p[RP] = d.price + d.resultsCollateral + d.timeoutCollateral;
            p[S] = d.solverFee;
            p[M] = d.mediatorFee;
            p[C] = d.paymentCollateral - d.price - d.solverFee - d.mediatorFee + d.jobCreatorTimeoutCollateral;
        } else if (outcome == DealState.MediationRejected) {
            p[C] = d.paymentCollateral + d.jobCreatorTimeoutCollateral + d.resultsCollateral;
            p[M] = d.mediatorFee;
            p[RP] = d.timeoutCollateral - d.mediatorFee;
            (slashFrom, slashTo, slashed) = (Role.ResourceProvider, Role.JobCreator, d.resultsCollateral);
        } else if (outcome == DealState.TimeoutSubmit) {
            p[C] = d.paymentCollateral + d.jobCreatorTimeoutCollateral + d.timeoutCollateral;
            p[RP] = d.resultsCollateral;
            (slashFrom, slashTo, slashed) = (Role.ResourceProvider, Role.JobCreator, d.timeoutCollateral);
        } else if (outcome == DealState.TimeoutJudge) {
            p[RP] = d.price + d.jobCreatorTimeoutCollateral + d.resultsCollateral + d.timeoutCollateral;
            p[S] = d.solverFee;
            p[C] = d.paymentCollateral - d.price - d.solverFee;
            (slashFrom, slashTo, slashed) = (Role.JobCreator, Role.ResourceProvider, d.jobCreatorTimeoutCollateral);
        } else if (outcome == DealState.TimeoutMediate) {
            p[C] = d.paymentCollateral + d.jobCreatorTimeoutCollateral;
            p[RP] = d.resultsCollateral + d.timeoutCollateral;
        } else {
            revert NotAnOutcome(outcome);
        }
    }

    function _settle(bytes32 id, Deal calldata d, DealRecord memory r, DealState outcome, address mediator) internal {
        if (!r.locked) {
            _debit(d.jobCreator, d.paymentCollateral + d.jobCreatorTimeoutCollateral);
            _debit(d.resourceProvider, d.resultsCollateral + d.timeoutCollateral);
        }
        _pay(id, d, r, outcome, mediator);
    }

    /// @dev Takes both parties' locked amounts from their deposits; the caller records the lock.
    function _lock(bytes32 id, Deal calldata d) internal {
        uint256 fromCreator = d.paymentCollateral + d.jobCreatorTimeoutCollateral;
        uint256 fromProvider = d.resultsCollateral + d.timeoutCollateral;
        _debit(d.jobCreator, fromCreator);
        _debit(d.resourceProvider, fromProvider);
        emit DealLocked(id, fromCreator, fromProvider);
    }

    /// @dev As the debits of _settle, both or neither: false, with the deposits untouched, if either
    /// falls short.
    function _tryTake(Deal calldata d) internal returns (bool) {
        uint256 fromCreator = d.paymentCollateral + d.jobCreatorTimeoutCollateral;
        if (!_tryDebit(d.jobCreator, fromCreator)) return false;
        if (_tryDebit(d.resourceProvider, d.resultsCollateral + d.timeoutCollateral)) return true;
        _credit(d.jobCreator, fromCreator);
        return false;
    }

    /// @dev Pays out what the deal locked, already taken from the deposits. A mediation outcome without
    /// a mediator (the provider equivocated) pays the mediator's fee, which nobody earned, to the job
    /// creator.
    function _pay(bytes32 id, Deal calldata d, DealRecord memory r, DealState outcome, address mediator) internal {
        _deals[id] = DealRecord(DealState.Settled, outcome, r.locked, r.mediator, r.caseTaken, r.challengedAt);
        (uint256[4] memory p, Role slashFrom, Role slashTo, uint256 slashed) = _payouts(d, outcome);
        if (outcome == DealState.TimeoutMediate && r.caseTaken) _slashSilentMediator(id, d, r.mediator, d.mediatorFee, p);
        if (d.quorum > 1 && r.state == DealState.Mediating) p[M] = _settlePanel(id, d, outcome, p);
        if (mediator == address(0) && p[M] != 0) {
            p[C] += p[M];
            p[M] = 0;
        }
        address[4] memory payee = [d.jobCreator, d.resourceProvider, mediator, d.solver];
        bool paid;
        for (uint256 role = 0; role < 4; ++role) {
            if (p[role] == 0) continue;
            _credit(payee[role], p[role]);
            emit Payout(id, payee[role], Role(role), p[role], outcome);
            paid = true;
        }
        if (!paid) emit DealSettled(id, outcome);
        if (slashed > 0) emit Slashed(id, slashFrom, slashTo, slashed);
    }

    /// @dev A mediator that took the case and let the mediate deadline pass owes each party what its
    /// verdict could have given that party beyond a refund: the provider the price (had it been right),
    /// the job creator the provider's results collateral (had the provider cheated). Neither is known,
    /// so both are paid, from the mediator's stake and as far as it goes, pro rata: whichever party was
    /// honest is made whole, and a mediator colluding with the other gains its accomplice nothing at
    /// the honest party's expense.
    /// `fee` is what the deal pays this mediator: a quorum deal's fee is split among its quorum.
    function _slashSilentMediator(bytes32 id, Deal calldata d, address mediator, uint256 fee, uint256[4] memory p)
        internal
    {
        if (!_binds(mediator, fee)) return;
        uint256 owed = d.price + d.resultsCollateral;
        uint256 stake = balanceOf[mediator];
        uint256 taken = owed < stake ? owed : stake;
        if (taken == 0) return;
        balanceOf[mediator] = stake - taken;
        uint256 toCreator = taken == owed ? d.resultsCollateral : taken * d.resultsCollateral / owed;
        uint256 toProvider = taken - toCreator;
        p[C] += toCreator;
        p[RP] += toProvider;
        if (toCreator > 0) emit Slashed(id, Role.Mediator, Role.JobCreator, toCreator);
        if (toProvider > 0) emit Slashed(id, Role.Mediator, Role.ResourceProvider, toProvider);
    }

    // ---------------------------------------------------------------- quorum deals

    /// @dev A mediator of a quorum deal takes its part in the case: from then on it answers for the
    /// mediate deadline, as a drawn judge does. Every mediator of the deal may; none is drawn.
    function _joinPanel(bytes32 id, Deal calldata d) internal {
        if (!_names(d, msg.sender)) revert NotTheMediator(id, msg.sender);
        if (_panel[id][msg.sender] != 0) return;
        _panel[id][msg.sender] = PANEL_TAKEN;
        emit CaseTaken(id, msg.sender);
    }

    /// @dev Counts one mediator's signed verdict (anyone may bring it: the mediator, or a party it told),
    /// once; the deal settles on the quorum-th verdict that agrees. A verdict is its author's own act, so
    /// it counts whether or not its author took the case.
    function _vote(bytes32 id, Deal calldata d, DealRecord memory r, MediationVerdict calldata verdict, bytes calldata signature)
        internal
    {
        _notAfter(id, d.mediateDeadline);
        if (verdict.dealId != id) revert WrongDeal(id, verdict.dealId);
        address author = verdict.author;
        if (!_names(d, author)) revert NotTheMediator(id, author);
        _checkMessage(verdict.hash(), signature, author, author);
        if (keccak256(bytes(verdict.resultsCid)) != resultsCidHash[id]) revert ResultsMismatch(id);
        if (_panel[id][author] > PANEL_TAKEN) revert AlreadyVoted(id, author);
        bool fault = verdict.providerAtFault;
        _panel[id][author] = fault ? PANEL_OVERTURNED : PANEL_UPHELD;
        emit Voted(id, author, fault);
        Tally memory t = tallyOf[id];
        uint8 votes = fault ? ++t.overturned : ++t.upheld;
        tallyOf[id] = t;
        if (votes < d.quorum) return;
        _settle(id, d, r, fault ? DealState.MediationRejected : DealState.MediationAccepted, address(0));
    }

    /// @dev The mediators' side of a quorum deal's settlement, paid at once: on a verdict, the fee is
    /// split evenly among the majority (the
    /// wei a split leaves over go to the job creator), and each mediator that voted the other way is slashed to the party its
    /// verdict went against; on TimeoutMediate, each mediator that took the case and gave no verdict is
    /// slashed as a silent judge is. Returns what is left of the mediators' share.
    function _settlePanel(bytes32 id, Deal calldata d, DealState outcome, uint256[4] memory p) internal returns (uint256) {
        bool mediated = outcome == DealState.MediationAccepted || outcome == DealState.MediationRejected;
        uint8 majority = outcome == DealState.MediationRejected ? PANEL_OVERTURNED : PANEL_UPHELD;
        uint8 minority = outcome == DealState.MediationRejected ? PANEL_UPHELD : PANEL_OVERTURNED;
        uint256 share = mediated ? p[M] / d.quorum : 0;
        uint256 left = p[M];
        for (uint256 i = 0; i < d.mediators.length; ++i) {
            address m = d.mediators[i];
            uint8 part = _panel[id][m];
            if (mediated && part == majority) {
                if (share == 0) continue;
                left -= share;
                _credit(m, share);
                emit Payout(id, m, Role.Mediator, share, outcome);
            } else if (mediated && part == minority) {
                _slashMinority(id, d, m, outcome == DealState.MediationRejected ? C : RP, p);
            } else if (outcome == DealState.TimeoutMediate && part == PANEL_TAKEN) {
                _slashSilentMediator(id, d, m, d.mediatorFee / d.quorum, p);
            }
        }
        return left;
    }

    /// @dev A mediator outvoted on a quorum deal pays the party its verdict went against what that
    /// verdict would have cost it (the provider's price and results collateral), from its stake and as
    /// far as it goes.
    function _slashMinority(bytes32 id, Deal calldata d, address mediator, uint256 to, uint256[4] memory p) internal {
        uint256 owed = d.price + d.resultsCollateral;
        uint256 stake = balanceOf[mediator];
        uint256 taken = owed < stake ? owed : stake;
        if (taken == 0) return;
        balanceOf[mediator] = stake - taken;
        p[to] += taken;
        emit Slashed(id, Role.Mediator, Role(to), taken);
    }

    function _names(Deal calldata d, address who) internal pure returns (bool) {
        for (uint256 i = 0; i < d.mediators.length; ++i) {
            if (d.mediators[i] == who) return true;
        }
        return false;
    }
}
