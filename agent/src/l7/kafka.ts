// Kafka request header v0+: int32 size, int16 api_key, int16 api_version, int32 correlation_id,
// nullable string client_id. Response: int32 size, int32 correlation_id. Status always "unknown".
import type { L7Parser, L7RequestInfo, L7ResponseInfo } from './l7-parser.ts';
import { PAYLOAD_CAP, i16be, i32be, text } from './util.ts';

export const KAFKA_API_KEYS = [
  'Produce', 'Fetch', 'ListOffsets', 'Metadata', 'LeaderAndIsr', 'StopReplica', 'UpdateMetadata',
  'ControlledShutdown', 'OffsetCommit', 'OffsetFetch', 'FindCoordinator', 'JoinGroup', 'Heartbeat',
  'LeaveGroup', 'SyncGroup', 'DescribeGroups', 'ListGroups', 'SaslHandshake', 'ApiVersions',
  'CreateTopics', 'DeleteTopics', 'DeleteRecords', 'InitProducerId', 'OffsetForLeaderEpoch',
  'AddPartitionsToTxn', 'AddOffsetsToTxn', 'EndTxn', 'WriteTxnMarkers', 'TxnOffsetCommit',
  'DescribeAcls', 'CreateAcls', 'DeleteAcls', 'DescribeConfigs', 'AlterConfigs', 'AlterReplicaLogDirs',
  'DescribeLogDirs', 'SaslAuthenticate', 'CreatePartitions', 'CreateDelegationToken',
  'RenewDelegationToken', 'ExpireDelegationToken', 'DescribeDelegationToken', 'DeleteGroups',
  'ElectLeaders', 'IncrementalAlterConfigs', 'AlterPartitionReassignments', 'ListPartitionReassignments',
  'OffsetDelete', 'DescribeClientQuotas', 'AlterClientQuotas', 'DescribeUserScramCredentials',
  'AlterUserScramCredentials', 'Vote', 'BeginQuorumEpoch', 'EndQuorumEpoch', 'DescribeQuorum',
  'AlterPartition', 'UpdateFeatures', 'Envelope', 'FetchSnapshot', 'DescribeCluster',
  'DescribeProducers', 'BrokerRegistration', 'BrokerHeartbeat', 'UnregisterBroker',
  'DescribeTransactions', 'ListTransactions', 'AllocateProducerIds',
] as const;

export interface KafkaRequestInfo extends L7RequestInfo {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId?: string;
}

export function detectKafkaRequest(b: Uint8Array): boolean {
  if (b.length < 12) return false;
  const size = i32be(b, 0);
  if (size < 8 || !(size + 4 === b.length || (b.length >= PAYLOAD_CAP && size + 4 > b.length))) return false;
  const key = i16be(b, 4);
  const ver = i16be(b, 6);
  return key >= 0 && key < KAFKA_API_KEYS.length && ver >= 0 && ver < 64 && i32be(b, 8) > 0;
}

export function parseKafkaRequest(b: Uint8Array): KafkaRequestInfo | undefined {
  if (b.length < 12) return undefined;
  const size = i32be(b, 0);
  const key = i16be(b, 4);
  const ver = i16be(b, 6);
  const corr = i32be(b, 8);
  if (size < 8 || size + 4 < b.length || key < 0 || key >= KAFKA_API_KEYS.length || ver < 0 || ver >= 64 || corr <= 0) return undefined;
  const name = KAFKA_API_KEYS[key];
  const info: KafkaRequestInfo = { method: name, statement: `${name} v${ver} correlation_id=${corr}`, apiKey: key, apiVersion: ver, correlationId: corr };
  if (key === 0) info.direction = 'produce';
  else if (key === 1) info.direction = 'consume';
  if (b.length >= 14) {
    const l = i16be(b, 12);
    if (l >= 0 && 14 + l <= b.length && l <= 256) info.clientId = text(b, 14, 14 + l);
  }
  return info;
}

/** A response whose correlation id equals the request's (any plausible one without a request). */
export function parseKafkaResponse(b: Uint8Array, request?: L7RequestInfo): L7ResponseInfo | undefined {
  if (b.length < 8) return undefined;
  const size = i32be(b, 0);
  const corr = i32be(b, 4);
  // size counts the bytes after itself: equal to the rest, or more when the read was cut.
  if (size < 4 || size + 4 < b.length || corr <= 0) return undefined;
  const req = request as KafkaRequestInfo | undefined;
  if (req?.correlationId !== undefined && req.correlationId !== corr) return undefined;
  return { status: 'unknown' };
}

export const kafkaParser: L7Parser = {
  protocol: 'kafka',
  detectRequest: detectKafkaRequest,
  parseRequest: parseKafkaRequest,
  parseResponse: parseKafkaResponse,
  responseUsesRequest: true,
};

