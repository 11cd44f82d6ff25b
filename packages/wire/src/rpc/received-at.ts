// When a streamed message came off its connection: stamped as grpc-js decodes it (which it does as
// the bytes arrive), carried across the proto → domain conversion, read by the handler. It lets the
// controller time report → state from its own receipt, not from the sender's clock and queues.
const stamps = new WeakMap<object, number>();

/** Wraps a decoder so that every message it returns is stamped with performance.now(). */
export function stampingReceipt<T extends object>(decode: (b: Buffer) => T): (b: Buffer) => T {
  return (b) => {
    const msg = decode(b);
    stamps.set(msg, performance.now());
    return msg;
  };
}

/** Gives `to` the receipt stamp of `from` (a converted message is still the one received). */
export function carryReceipt<T extends object>(from: object, to: T): T {
  const at = stamps.get(from);
  if (at !== undefined) stamps.set(to, at);
  return to;
}

/** performance.now() when the message was decoded; undefined for one that was not stamped. */
export function receivedAt(msg: object): number | undefined {
  return stamps.get(msg);
}
