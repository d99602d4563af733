// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice The deal states of DESIGN §6, in the order of src/state-machines/deal-states.ts (a test
/// compares the two lists). The chain only knows what it was shown: a deal it has never seen reads as
/// the first state; it records ResultsSubmitted (a results commitment), Mediating (a challenge) and
/// Settled, and keeps the outcome that settled the deal.
enum DealState {
    JobOffered,
    Matched,
    Agreed,
    ResultsSubmitted,
    Accepted,
    Mediating,
    MediationAccepted,
    MediationRejected,
    Settled,
    TimeoutMatch,
    TimeoutAgree,
    TimeoutSubmit,
    TimeoutJudge,
    TimeoutMediate
}

/// @notice Payees of a settlement, in the order of PAYOUT_ROLES in src/state-machines/settle.ts.
enum Role {
    JobCreator,
    ResourceProvider,
    Mediator,
    Solver
}

/// The structs below mirror src/protocols/messages/eip712-types.ts field for field: amounts in wei,
/// times in milliseconds since the Unix epoch.
struct Deal {
    address jobCreator;
    address resourceProvider;
    address solver;
    uint256 nonce;
    uint64 expiry;
    bytes32 jobOfferId;
    bytes32 resourceOfferId;
    bytes32 matchProposalId;
    bytes32 specHash;
    address[] mediators;
    /// how many matching verdicts settle a challenge: 0 or 1, the one judge drawn; k > 1, k of the mediators' votes
    uint8 quorum;
    uint256 price;
    uint256 solverFee;
    uint256 mediatorFee;
    uint256 paymentCollateral;
    uint256 jobCreatorTimeoutCollateral;
    uint256 resultsCollateral;
    uint256 timeoutCollateral;
    uint64 agreeDeadline;
    uint64 submitDeadline;
    uint64 judgeDeadline;
    uint64 mediateDeadline;
}

struct ResultsSubmitted {
    address author;
    uint256 nonce;
    uint64 expiry;
    bytes32 dealId;
    string resultsCid;
    int32 exitCode;
    uint64 cpuMs;
    uint64 durationMs;
}

struct ResultsAccepted {
    address author;
    uint256 nonce;
    uint64 expiry;
    bytes32 dealId;
    string resultsCid;
}

struct ResultsChallenged {
    address author;
    uint256 nonce;
    uint64 expiry;
    bytes32 dealId;
    string resultsCid;
}

struct MediationVerdict {
    address author;
    uint256 nonce;
    uint64 expiry;
    bytes32 dealId;
    string resultsCid;
    string mediatorCid;
    bool providerAtFault;
}

/// @notice A job creator's offer of a job: a deal names it by its id (`jobOfferId`).
struct JobOffer {
    address author;
    uint256 nonce;
    uint64 expiry;
    string moduleRepo;
    string moduleCommit;
    string modulePath;
    bytes32 specHash;
    string inputs;
    string image;
    string inputsCid;
    string urlPins;
    uint32 cpu;
    uint32 gpu;
    uint32 gpuVramMb;
    uint32 ramMb;
    uint32 diskMb;
    uint256 maxPrice;
    uint256 maxSolverFee;
    uint256 paymentCollateral;
    uint256 timeoutCollateral;
    address[] trustedMediators;
    uint8 quorum;
    address[] trustedSolvers;
    uint64 matchDeadline;
    uint64 agreeWithin;
    uint64 submitWithin;
    uint64 judgeWithin;
    uint64 mediateWithin;
}

/// @notice A deal with the signatures of both of its parties: the evidence every settlement path starts from.
struct SignedDeal {
    Deal deal;
    bytes jobCreatorSignature;
    bytes resourceProviderSignature;
}

/// @notice One entry of a happy-path batch: a signed deal and the job creator's signed acceptance.
struct AcceptedDeal {
    SignedDeal signed;
    ResultsAccepted acceptance;
    bytes acceptanceSignature;
}

/// @notice EIP-712 struct hashes of the messages (hashStruct in the EIP's terms).
library DealHashing {
    bytes32 internal constant DEAL_TYPEHASH = keccak256(
        "Deal(address jobCreator,address resourceProvider,address solver,uint256 nonce,uint64 expiry,bytes32 jobOfferId,bytes32 resourceOfferId,bytes32 matchProposalId,bytes32 specHash,address[] mediators,uint8 quorum,uint256 price,uint256 solverFee,uint256 mediatorFee,uint256 paymentCollateral,uint256 jobCreatorTimeoutCollateral,uint256 resultsCollateral,uint256 timeoutCollateral,uint64 agreeDeadline,uint64 submitDeadline,uint64 judgeDeadline,uint64 mediateDeadline)"
    );
    bytes32 internal constant RESULTS_SUBMITTED_TYPEHASH = keccak256(
        "ResultsSubmitted(address author,uint256 nonce,uint64 expiry,bytes32 dealId,string resultsCid,int32 exitCode,uint64 cpuMs,uint64 durationMs)"
    );
    bytes32 internal constant RESULTS_ACCEPTED_TYPEHASH =
        keccak256("ResultsAccepted(address author,uint256 nonce,uint64 expiry,bytes32 dealId,string resultsCid)");
    bytes32 internal constant RESULTS_CHALLENGED_TYPEHASH = keccak256(
        "ResultsChallenged(address author,uint256 nonce,uint64 expiry,bytes32 dealId,string resultsCid)"
    );
    bytes32 internal constant MEDIATION_VERDICT_TYPEHASH = keccak256(
        "MediationVerdict(address author,uint256 nonce,uint64 expiry,bytes32 dealId,string resultsCid,string mediatorCid,bool providerAtFault)"
    );
    bytes32 internal constant JOB_OFFER_TYPEHASH = keccak256(
        "JobOffer(address author,uint256 nonce,uint64 expiry,string moduleRepo,string moduleCommit,string modulePath,bytes32 specHash,string inputs,string image,string inputsCid,string urlPins,uint32 cpu,uint32 gpu,uint32 gpuVramMb,uint32 ramMb,uint32 diskMb,uint256 maxPrice,uint256 maxSolverFee,uint256 paymentCollateral,uint256 timeoutCollateral,address[] trustedMediators,uint8 quorum,address[] trustedSolvers,uint64 matchDeadline,uint64 agreeWithin,uint64 submitWithin,uint64 judgeWithin,uint64 mediateWithin)"
    );

    function hash(Deal calldata d) internal pure returns (bytes32) {
        // Encoded in two halves: the concatenation equals one abi.encode of all the fields.
        bytes memory head = abi.encode(
            DEAL_TYPEHASH,
            d.jobCreator,
            d.resourceProvider,
            d.solver,
            d.nonce,
            d.expiry,
            d.jobOfferId,
            d.resourceOfferId,
            d.matchProposalId,
            d.specHash,
            keccak256(abi.encodePacked(d.mediators))
        );
        bytes memory tail = abi.encode(
            d.quorum,
            d.price,
            d.solverFee,
            d.mediatorFee,
            d.paymentCollateral,
            d.jobCreatorTimeoutCollateral,
            d.resultsCollateral,
            d.timeoutCollateral,
            d.agreeDeadline,
            d.submitDeadline,
            d.judgeDeadline,
            d.mediateDeadline
        );
        return keccak256(bytes.concat(head, tail));
    }

    function hash(ResultsSubmitted calldata m) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                RESULTS_SUBMITTED_TYPEHASH,
                m.author,
                m.nonce,
                m.expiry,
                m.dealId,
                keccak256(bytes(m.resultsCid)),
                m.exitCode,
                m.cpuMs,
                m.durationMs
            )
        );
    }

    function hash(ResultsAccepted calldata m) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(RESULTS_ACCEPTED_TYPEHASH, m.author, m.nonce, m.expiry, m.dealId, keccak256(bytes(m.resultsCid)))
        );
    }

    function hash(ResultsChallenged calldata m) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                RESULTS_CHALLENGED_TYPEHASH,
                m.author,
                m.nonce,
                m.expiry,
                m.dealId,
                keccak256(bytes(m.resultsCid))
            )
        );
    }

    function hash(MediationVerdict calldata m) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                MEDIATION_VERDICT_TYPEHASH,
                m.author,
                m.nonce,
                m.expiry,
                m.dealId,
                keccak256(bytes(m.resultsCid)),
                keccak256(bytes(m.mediatorCid)),
                m.providerAtFault
            )
        );
    }

    function hash(JobOffer calldata o) internal pure returns (bytes32) {
        // Encoded in two halves, as the deal is: one abi.encode of all the fields is too deep a stack.
        bytes memory head = abi.encode(
            JOB_OFFER_TYPEHASH,
            o.author,
            o.nonce,
            o.expiry,
            keccak256(bytes(o.moduleRepo)),
            keccak256(bytes(o.moduleCommit)),
            keccak256(bytes(o.modulePath)),
            o.specHash,
            keccak256(bytes(o.inputs)),
            keccak256(bytes(o.image)),
            keccak256(bytes(o.inputsCid)),
            keccak256(bytes(o.urlPins)),
            o.cpu,
            o.gpu,
            o.gpuVramMb
        );
        bytes memory tail = abi.encode(
            o.ramMb,
            o.diskMb,
            o.maxPrice,
            o.maxSolverFee,
            o.paymentCollateral,
            o.timeoutCollateral,
            keccak256(abi.encodePacked(o.trustedMediators)),
            o.quorum,
            keccak256(abi.encodePacked(o.trustedSolvers)),
            o.matchDeadline,
            o.agreeWithin,
            o.submitWithin,
            o.judgeWithin,
            o.mediateWithin
        );
        return keccak256(bytes.concat(head, tail));
    }
}
