import { credentials, type ChannelOptions } from "@grpc/grpc-js";

// Archive chunks are 1 MiB; leave room. Keepalive notices a peer that vanished without a FIN.
export const CHANNEL_OPTIONS: ChannelOptions = {
  "grpc.max_receive_message_length": 16 * 1024 * 1024,
  "grpc.max_send_message_length": 16 * 1024 * 1024,
  "grpc.keepalive_time_ms": 15_000,
  "grpc.keepalive_timeout_ms": 5_000,
};

export const SERVER_OPTIONS: ChannelOptions = {
  "grpc.max_receive_message_length": 16 * 1024 * 1024,
  "grpc.max_send_message_length": 16 * 1024 * 1024,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.http2.min_ping_interval_without_data_ms": 5_000,
};

export const insecureCredentials = () => credentials.createInsecure();
