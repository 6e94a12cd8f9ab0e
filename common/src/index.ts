export * from './protobuf.ts';
export * from './remote-write.ts';
