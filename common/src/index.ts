export * from './protobuf.ts';
export * from './remote-write.ts';
export { SnappyOutput } from './snappy.ts';
export * from './listen-address.ts';
