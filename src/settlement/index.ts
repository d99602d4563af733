/** The chain adapter's public surface. */
export { loadArtifacts, loadOnchainJobsArtifacts, combinedInterface, mergedInterface, type SettlementArtifacts, type OnchainJobsArtifacts } from './artifacts.ts'
export { SettlementClient, type SettlementClientOptions, type SettlementReceipt, type BatchReceipt, type DealRecord, type MediatorTerms, type AccountDealEvent } from './client.ts'
export { deployContracts, deployContract, deployOnchainJobs, DEFAULT_WITHDRAW_DELAY_SECONDS, type DeployOptions, type Deployment, type Deployed } from './deploy.ts'
export { startDevChain, increaseTime, chainTime, snapshot, revertTo, anvilBinary, type DevChain, type DevChainOptions } from './dev-chain.ts'
export { SettlementError, decodeRevert, errorCodeOfSelector, toSettlementError, type SettlementErrorCode } from './errors.ts'
export { parseLogs, watchEvents, type SettlementEvent, type WatchOptions } from './events.ts'
export { signDeal, signMessage, messageId, settlementDomain, type SignedDeal, type AcceptedDeal, type Signed } from './evidence.ts'
export {
  OnchainJobsClient, REQUEST_STATUSES, NO_OUTPUT,
  type JobSpec, type JobTerms, type JobRequestRecord, type JobResult, type JobRequestedEvent, type JobRequestReceipt, type DeliveryReceipt, type OutputProof, type RequestStatus, type OnchainJobsClientOptions
} from './onchain-jobs.ts'
export { ExampleCowsayClient, type CowsayAsk } from './example-client.ts'
export { connectProvider, type ProviderOptions } from './provider.ts'
export { TxSender, type TxSenderOptions } from './tx-sender.ts'
