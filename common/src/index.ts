export * from './protobuf.ts';
export * from './remote-write.ts';
export * from './listen-address.ts';
