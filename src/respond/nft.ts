/**
 * @module respond/nft
 * The nftables backend's parts under one name, for the modules that used them from here: the
 * responder (respond/nft/responder), the runner (respond/nft/runner), the script text
 * (respond/nft/script), the output parser (respond/nft/parser) and the watchdog
 * (respond/nft/watchdog). Owns nothing itself.
 */
export { NftResponder, type NftResponderOptions } from './nft/responder.ts';
export { FirewallError, NFT_TIMEOUT_MS, spawnRun, type NftRun, type NftRunResult } from './nft/runner.ts';
export { NFT_MAX_TIMEOUT_SECONDS, type NftBan } from './nft/script.ts';
export type { NftListedBan } from './nft/parser.ts';
export { watchTable, type WatchTableOptions } from './nft/watchdog.ts';
