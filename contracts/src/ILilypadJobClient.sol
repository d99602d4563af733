// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice What a contract that asks LilypadJobs for jobs is called back with. Each call has at most
/// the gas the request named (`callbackGasLimit`), and a call that fails changes nothing in LilypadJobs:
/// the result stays readable there (`resultOf`).
interface ILilypadJobClient {
    /// @notice The job of `requestId` ran, and a settled deal holds its results under `resultsCid`.
    /// `output`: the first bytes of the results file the request named, proven from that CID (empty
    /// where it named none).
    function lilypadFulfilled(bytes32 requestId, string calldata resultsCid, bytes calldata output) external;

    /// @notice The request's deadline passed undelivered: its payment went back to the requester.
    function lilypadCancelled(bytes32 requestId) external;
}
